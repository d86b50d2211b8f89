//go:build linux || darwin

package localapi

import (
	"os/user"
	"slices"
	"strconv"

	"github.com/wapt-go/wapt/shared/wire"
)

// unixCaller builds the caller of a uid and its group ids: names come from
// os/user (numeric ids when a lookup fails), and the configured groups of
// the user are added when withUserGroups (Linux, where the kernel only
// gives the primary group).
func unixCaller(uid uint32, gids []uint32, withUserGroups bool) wire.LocalCaller {
	id := strconv.FormatUint(uint64(uid), 10)
	c := wire.LocalCaller{UID: id, Username: id, Admin: uid == 0}
	ids := make([]string, 0, len(gids))
	for _, g := range gids {
		ids = append(ids, strconv.FormatUint(uint64(g), 10))
	}
	if u, err := user.LookupId(id); err == nil {
		c.Username = u.Username
		if withUserGroups {
			if more, err := u.GroupIds(); err == nil {
				ids = append(ids, more...)
			}
		}
	}
	for _, g := range ids {
		name := g
		if gr, err := user.LookupGroupId(g); err == nil {
			name = gr.Name
		}
		if !slices.Contains(c.Groups, name) {
			c.Groups = append(c.Groups, name)
		}
	}
	return c
}
