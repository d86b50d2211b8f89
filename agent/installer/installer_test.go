package installer

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestUninstallLinux(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("linux rules")
	}
	var calls []string
	inst := &Installer{Run: func(_ context.Context, name string, args ...string) ([]byte, error) {
		calls = append(calls, name+" "+strings.Join(args, " "))
		if name == "dpkg-query" {
			switch args[len(args)-1] {
			case "hello":
				return []byte("install ok installed"), nil
			case "gone":
				return []byte("deinstall ok config-files"), nil
			}
			return nil, errors.New("no packages found")
		}
		if args[len(args)-1] == "hello" {
			return []byte("Removing hello\n"), nil
		}
		return nil, errors.New("failed")
	}}
	var out bytes.Buffer
	err := inst.Uninstall(context.Background(), []string{"hello", "gone", "absent", "Bad Name!"}, &out)
	if err == nil || !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "Bad Name!") {
		t.Errorf("err = %v, want ErrUnsupported for the bad key only", err)
	}
	want := []string{"dpkg-query -W -f=${Status} hello", "dpkg --remove hello", "dpkg-query -W -f=${Status} gone", "dpkg-query -W -f=${Status} absent"}
	if !reflect.DeepEqual(calls, want) {
		t.Errorf("calls = %q\nwant %q", calls, want)
	}
	if !strings.Contains(out.String(), "Removing hello") || !strings.Contains(out.String(), "gone: not installed") {
		t.Errorf("output = %q", out.String())
	}
}

func TestMsiUninstallCommand(t *testing.T) {
	got := MsiUninstallCommand("{12345678-1234-1234-1234-123456789012}")
	want := []string{"msiexec", "/norestart", "/q", "/x", "{12345678-1234-1234-1234-123456789012}"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got %q", got)
	}
}
