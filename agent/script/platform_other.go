//go:build !linux && !windows && !darwin

package script

import (
	"context"

	"go.starlark.net/starlark"
)

func (e *env) platformHelpers() starlark.StringDict {
	return starlark.StringDict{"installed_softwares": notAvailable("installed_softwares")}
}

func listProcesses(context.Context, System) ([]process, error) { return nil, errNotAvailable }
