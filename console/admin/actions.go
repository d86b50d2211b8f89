package admin

import (
	"context"
	"fmt"

	"github.com/wapt-go/wapt/shared/action"
	"github.com/wapt-go/wapt/shared/wire"
)

// SendAction signs an action of kind (action.Kinds) for hosts with the
// admin's signer and has the server relay it; the server never signs
// actions. packages are the requests of install, remove and forget.
// The action expires after action.DefaultLifetime.
func (s *Session) SendAction(ctx context.Context, kind string, hosts, packages []string, force bool) (wire.ActionAccepted, error) {
	var acc wire.ActionAccepted
	a, err := action.New(kind, hosts, action.Args{Packages: packages, Force: force}, s.now(), 0)
	if err != nil {
		return acc, fmt.Errorf("action %s: %w: %w", kind, ErrInvalid, err)
	}
	signed, err := action.Sign(a, s.signer, s.chain)
	if err != nil {
		return acc, fmt.Errorf("sign action %s: %w", kind, err)
	}
	raw, err := signed.Marshal()
	if err != nil {
		return acc, fmt.Errorf("action %s: %w", kind, err)
	}
	if acc, err = s.client.SubmitAction(ctx, raw); err != nil {
		return acc, fmt.Errorf("send action %s to %d hosts: %w", kind, len(hosts), mapErr(err))
	}
	return acc, nil
}

// ActionResults returns an action and where it stands on each host.
func (s *Session) ActionResults(ctx context.Context, id string) (wire.ActionDetail, error) {
	d, err := s.client.Action(ctx, id)
	if err != nil {
		return d, fmt.Errorf("action %s: %w", id, mapErr(err))
	}
	return d, nil
}

// Actions returns the last limit actions, newest first (limit 0: the
// server's default).
func (s *Session) Actions(ctx context.Context, limit int) ([]wire.ActionSummary, error) {
	l, err := s.client.ListActions(ctx, limit)
	if err != nil {
		return nil, fmt.Errorf("actions: %w", mapErr(err))
	}
	return l, nil
}
