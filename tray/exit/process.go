package exit

import "context"

// SystemProcesses is the ProcessChecker of this machine: it lists the
// running processes each time it is asked.
type SystemProcesses struct{}

// Running returns those of names that match a running process.
func (SystemProcesses) Running(ctx context.Context, names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	all, err := processNames(ctx)
	if err != nil {
		return nil, err
	}
	return matchProcesses(names, all), nil
}
