package exit

import (
	"context"

	"github.com/wapt-go/wapt/shared/wire"
)

// Choice is the user's answer to the countdown.
type Choice int

const (
	// Timeout means the countdown ran out: the upgrade starts.
	Timeout Choice = iota
	// InstallNow means the user asked to start the upgrade at once.
	InstallNow
	// Postpone means the user asked to skip the upgrade this time. Run
	// ignores it (and installs) when the policy forbids postponing.
	Postpone
)

func (c Choice) String() string {
	switch c {
	case Timeout:
		return "timeout"
	case InstallNow:
		return "install now"
	case Postpone:
		return "postpone"
	}
	return "choice(?)"
}

// UI is what waptexit shows the user. Run calls it from one goroutine, in
// this order: Countdown once, then Progress any number of times, then
// Done once. When nothing is to be installed Run calls none of them, so
// an implementation may open its window lazily in Countdown.
//
// Implementations: Console (text on a terminal, in this package) and the
// Fyne window of tray/selfservice.
type UI interface {
	// Countdown shows the packages about to be installed and counts
	// seconds down. It returns InstallNow or Postpone when the user
	// chooses, Timeout when the count reaches zero. allowCancel false
	// means "Postpone" must not be offered. It must return soon after
	// ctx is done (any Choice; Run then looks at ctx).
	Countdown(ctx context.Context, seconds int, pkgs []wire.LocalPackage, allowCancel bool) Choice
	// Progress shows the state of the upgrade task (State, Progress
	// 0-100, Message). It must not block.
	Progress(task wire.LocalTask)
	// Done shows the outcome: msg is a one-line summary for the user,
	// err is nil on success (or postponement). It may wait a little so
	// that the user can read it, but must return: the shutdown waits.
	Done(msg string, err error)
}
