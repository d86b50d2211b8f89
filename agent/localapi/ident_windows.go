package localapi

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"

	"golang.org/x/sys/windows"

	"github.com/wapt-go/wapt/shared/wire"
)

// advapi32's ImpersonateNamedPipeClient, which x/sys/windows does not wrap.
var procImpersonateNamedPipeClient = windows.NewLazySystemDLL("advapi32.dll").NewProc("ImpersonateNamedPipeClient")

// maxGroups bounds the groups kept from a token (each costs a name lookup).
const maxGroups = 512

// peerCaller reads the identity of the pipe client from its token: the
// server impersonates the client (ImpersonateNamedPipeClient, which needs
// data read from the pipe first — identConn calls this after its first
// read), opens the thread token and reverts. Unlike a lookup by the client's
// process id (GetNamedPipeClientProcessId + OpenProcessToken), this cannot
// be fooled by a client that exits and whose pid is reused. The client must
// allow at least SECURITY_IDENTIFICATION (localclient does); an anonymous
// client has no token to read and is refused.
func peerCaller(c net.Conn) (wire.LocalCaller, error) {
	f, ok := c.(interface{ Fd() uintptr })
	if !ok {
		return wire.LocalCaller{}, fmt.Errorf("not a named pipe connection (%T)", c)
	}
	tok, err := pipeClientToken(windows.Handle(f.Fd()))
	if err != nil {
		return wire.LocalCaller{}, err
	}
	defer tok.Close()
	return tokenCaller(tok)
}

// pipeClientToken returns the token of the client of the pipe h.
// Impersonation is per OS thread, so it runs on a locked thread of its
// own; if reverting fails, the thread is not unlocked and dies with its
// goroutine rather than run other code as the client.
func pipeClientToken(h windows.Handle) (windows.Token, error) {
	type result struct {
		tok windows.Token
		err error
	}
	ch := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		tok, reverted, err := impersonateAndOpen(h)
		if reverted {
			runtime.UnlockOSThread()
		}
		ch <- result{tok, err}
	}()
	r := <-ch
	return r.tok, r.err
}

// impersonateAndOpen must run on a locked OS thread.
func impersonateAndOpen(h windows.Handle) (tok windows.Token, reverted bool, err error) {
	if r, _, e := procImpersonateNamedPipeClient.Call(uintptr(h)); r == 0 {
		if errno, ok := e.(syscall.Errno); !ok || errno == 0 {
			e = syscall.EINVAL
		}
		return 0, true, fmt.Errorf("ImpersonateNamedPipeClient: %w", e)
	}
	thread, _ := windows.GetCurrentThread() // a pseudo handle, never fails
	oerr := windows.OpenThreadToken(thread, windows.TOKEN_QUERY, true, &tok)
	if rerr := windows.RevertToSelf(); rerr != nil {
		if oerr == nil {
			tok.Close()
		}
		return 0, false, fmt.Errorf("RevertToSelf: %w", rerr)
	}
	if oerr != nil {
		return 0, true, fmt.Errorf("OpenThreadToken: %w", oerr)
	}
	return tok, true, nil
}

// tokenCaller describes the user of tok: UID is the user SID, Username
// DOMAIN\name, Groups the enabled groups (not deny-only, not the logon
// SID) as DOMAIN\name or SID strings. Admin is true for SYSTEM and when
// BUILTIN\Administrators is enabled, which under UAC means elevated.
func tokenCaller(tok windows.Token) (wire.LocalCaller, error) {
	tu, err := tok.GetTokenUser()
	if err != nil {
		return wire.LocalCaller{}, fmt.Errorf("token user: %w", err)
	}
	sid := tu.User.Sid
	if sid == nil {
		return wire.LocalCaller{}, errors.New("token user: no SID")
	}
	c := wire.LocalCaller{
		UID:      sid.String(),
		Username: sidName(sid),
		Admin:    sid.IsWellKnown(windows.WinLocalSystemSid),
	}
	tg, err := tok.GetTokenGroups()
	if err != nil {
		return wire.LocalCaller{}, fmt.Errorf("token groups: %w", err)
	}
	for _, g := range tg.AllGroups() {
		if g.Sid == nil ||
			g.Attributes&windows.SE_GROUP_ENABLED == 0 ||
			g.Attributes&windows.SE_GROUP_USE_FOR_DENY_ONLY != 0 ||
			g.Attributes&windows.SE_GROUP_LOGON_ID == windows.SE_GROUP_LOGON_ID {
			continue
		}
		if g.Sid.IsWellKnown(windows.WinBuiltinAdministratorsSid) {
			c.Admin = true
		}
		if len(c.Groups) < maxGroups {
			c.Groups = append(c.Groups, sidName(g.Sid))
		}
	}
	return c, nil
}

// sidName is DOMAIN\name for sid, or name alone when the domain is empty,
// or the SID string when the lookup fails.
func sidName(sid *windows.SID) string {
	account, domain, _, err := sid.LookupAccount("")
	switch {
	case err != nil || account == "":
		return sid.String()
	case domain == "":
		return account
	default:
		return domain + `\` + account
	}
}
