package exit

import (
	"strings"
	"testing"
	"time"
)

func TestSystemdUnit(t *testing.T) {
	u := SystemdUnit(ShutdownConfig{Exe: "/usr/bin/waptexit"})
	for _, want := range []string{
		"\nType=oneshot\n",
		"\nRemainAfterExit=yes\n",
		"\nExecStop=/usr/bin/waptexit --console\n",
		"\nAfter=waptagent.service network-online.target\n",
		"\nBefore=shutdown.target reboot.target halt.target\n",
		"\nTimeoutStopSec=3600\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("unit lacks %q:\n%s", want, u)
		}
	}
	if strings.Contains(u, "ExecStart=") {
		t.Errorf("unit runs waptexit at start:\n%s", u)
	}

	u = SystemdUnit(ShutdownConfig{Exe: "/opt/my wapt/waptexit", Args: []string{"--console", "--x=50%", "$HOME"}, AgentUnit: "wapt.service", Timeout: 90 * time.Second})
	for _, want := range []string{
		`ExecStop="/opt/my wapt/waptexit" --console --x=50%% $$HOME` + "\n",
		"After=wapt.service network-online.target\n",
		"TimeoutStopSec=90\n",
	} {
		if !strings.Contains(u, want) {
			t.Errorf("unit lacks %q:\n%s", want, u)
		}
	}
}

func TestLogoutHookScript(t *testing.T) {
	s := LogoutHookScript(ShutdownConfig{Exe: "/Applications/WAPT/it's/waptexit"})
	if !strings.HasPrefix(s, "#!/bin/sh\n") {
		t.Errorf("no shebang:\n%s", s)
	}
	if want := `exec '/Applications/WAPT/it'\''s/waptexit' '--console' </dev/null` + "\n"; !strings.Contains(s, want) {
		t.Errorf("script lacks %q:\n%s", want, s)
	}
}

func TestWindowsArg(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"--console", "--console"},
		{`C:\Program Files\WAPT`, `"C:\Program Files\WAPT"`},
		{`C:\dir with space\`, `"C:\dir with space\\"`},
		{`say "hi"`, `"say \"hi\""`},
		{`a\"b c`, `"a\\\"b c"`},
	}
	for _, tt := range tests {
		if got := windowsArg(tt.in); got != tt.want {
			t.Errorf("windowsArg(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
	sc := WindowsShutdownScript(ShutdownConfig{Exe: `C:\Program Files\WAPT\waptexit.exe`, Args: []string{"--policy", "a b"}})
	if sc.CmdLine != `C:\Program Files\WAPT\waptexit.exe` || sc.Parameters != `--policy "a b"` {
		t.Errorf("WindowsShutdownScript = %+v", sc)
	}
	if sc := WindowsShutdownScript(ShutdownConfig{Exe: `C:\w\waptexit.exe`}); sc.Parameters != "" {
		t.Errorf("default parameters = %q, want none", sc.Parameters)
	}
}

func TestShutdownScriptsINI(t *testing.T) {
	exe := ShutdownScript{CmdLine: `C:\WAPT\waptexit.exe`}
	// Empty file: the script becomes entry 0.
	out, idx, changed := AddShutdownScript("", exe)
	if !changed || idx != 0 || out != "[Shutdown]\r\n0CmdLine=C:\\WAPT\\waptexit.exe\r\n0Parameters=\r\n" {
		t.Fatalf("AddShutdownScript(empty) = %q, %d, %v", out, idx, changed)
	}
	// Again: unchanged.
	if out2, idx, changed := AddShutdownScript(out, ShutdownScript{CmdLine: `c:\wapt\WAPTEXIT.exe`}); changed || idx != 0 || out2 != out {
		t.Errorf("second add changed the file: %q, %d", out2, idx)
	}

	// Existing scripts and sections are kept; ours goes last.
	existing := "\ufeff[Startup]\r\n0CmdLine=boot.cmd\r\n0Parameters=\r\n[Shutdown]\r\n0CmdLine=backup.cmd\r\n0Parameters=/q\r\n1CmdLine=clean.cmd\r\n1Parameters=\r\n"
	out, idx, changed = AddShutdownScript(existing, exe)
	if !changed || idx != 2 {
		t.Fatalf("add to existing: index %d changed %v", idx, changed)
	}
	got := ShutdownScripts(out)
	if len(got) != 3 || got[0].CmdLine != "backup.cmd" || got[0].Parameters != "/q" || got[2] != exe {
		t.Errorf("scripts = %+v", got)
	}
	if !strings.Contains(out, "[Startup]\r\n0CmdLine=boot.cmd\r\n") {
		t.Errorf("startup section lost:\n%s", out)
	}

	// Remove renumbers the others.
	out, changed = RemoveShutdownScript(existing, ShutdownScript{CmdLine: "backup.cmd", Parameters: "/q"})
	if !changed || !strings.Contains(out, "[Shutdown]\r\n0CmdLine=clean.cmd\r\n0Parameters=\r\n") || strings.Contains(out, "1CmdLine") {
		t.Errorf("remove = %v\n%s", changed, out)
	}
	if _, changed := RemoveShutdownScript(existing, exe); changed {
		t.Error("removing an absent script changed the file")
	}
}

func TestUpdateGptINI(t *testing.T) {
	tests := []struct {
		name, in, ext, version string
	}{
		{"empty", "", ScriptsCSE, "1"},
		{"computer version bumped, user kept", "[General]\r\nVersion=131075\r\n", ScriptsCSE, "131076"},
		{"other extension kept, sorted",
			"[General]\r\ngPCMachineExtensionNames=[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]\r\nVersion=7\r\n",
			ScriptsCSE + "[{827D319E-6EAC-11D2-A4EA-00C04F79F83A}{803E14A0-B4FB-11D0-A0D0-00A0C90F574B}]", "8"},
		{"already listed", "[general]\nVersion=65535\ngPCMachineExtensionNames=" + ScriptsCSE + "\n", ScriptsCSE, "0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := UpdateGptINI(tt.in)
			s := parseINI(out).section("General")
			if s == nil {
				t.Fatalf("no [General]:\n%s", out)
			}
			if got := s.get("gPCMachineExtensionNames"); got != tt.ext {
				t.Errorf("extensions = %s, want %s", got, tt.ext)
			}
			if got := s.get("Version"); got != tt.version {
				t.Errorf("version = %s, want %s", got, tt.version)
			}
		})
	}
}
