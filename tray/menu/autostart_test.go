package menu

import (
	"encoding/xml"
	"io"
	"strings"
	"testing"
)

func TestDesktopEntry(t *testing.T) {
	tests := []struct {
		exe  string
		args []string
		exec string
	}{
		{"/usr/bin/wapttray", nil, "Exec=/usr/bin/wapttray\n"},
		{"/usr/bin/wapttray", []string{"--socket", "/run/waptagent/waptagent.sock"}, "Exec=/usr/bin/wapttray --socket /run/waptagent/waptagent.sock\n"},
		{"/opt/my apps/wapttray", []string{"--x=100%"}, `Exec="/opt/my apps/wapttray" --x=100%%` + "\n"},
		{"/opt/a$b/wapttray", []string{`C:\x`}, `Exec="/opt/a\\$b/wapttray" "C:\\\\x"` + "\n"},
	}
	for _, tt := range tests {
		e := DesktopEntry(tt.exe, tt.args)
		if !strings.Contains(e, "\n"+tt.exec) {
			t.Errorf("DesktopEntry(%q, %q) lacks %q:\n%s", tt.exe, tt.args, tt.exec, e)
		}
		for _, want := range []string{"[Desktop Entry]\n", "\nType=Application\n", "\nTerminal=false\n"} {
			if !strings.HasPrefix(e, want) && !strings.Contains(e, want) {
				t.Errorf("entry lacks %q", want)
			}
		}
	}
}

func TestLaunchAgentPlist(t *testing.T) {
	p := LaunchAgentPlist("/Applications/WAPT & co/wapttray", []string{"--socket", "/var/run/<a>.sock"})
	// It is well-formed XML, and the arguments round-trip.
	d := xml.NewDecoder(strings.NewReader(p))
	var strs []string
	inString := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("plist is not XML: %v\n%s", err, p)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inString = tok.Name.Local == "string"
		case xml.EndElement:
			inString = false
		case xml.CharData:
			if inString {
				strs = append(strs, string(tok))
			}
		}
	}
	want := []string{LaunchAgentName, "/Applications/WAPT & co/wapttray", "--socket", "/var/run/<a>.sock", "Aqua", "Interactive"}
	if strings.Join(strs, "|") != strings.Join(want, "|") {
		t.Errorf("plist strings = %q, want %q", strs, want)
	}
	if !strings.Contains(p, "<key>RunAtLoad</key>\n\t<true/>") {
		t.Errorf("plist lacks RunAtLoad:\n%s", p)
	}
}

func TestRunValue(t *testing.T) {
	tests := []struct {
		exe  string
		args []string
		want string
	}{
		{`C:\Program Files\WAPT\wapttray.exe`, nil, `"C:\Program Files\WAPT\wapttray.exe"`},
		{`C:\WAPT\wapttray.exe`, []string{"--socket", `\\.\pipe\waptagent`}, `"C:\WAPT\wapttray.exe" --socket \\.\pipe\waptagent`},
		{`C:\WAPT\wapttray.exe`, []string{"a b", `say "x"`, `dir\`, ""}, `"C:\WAPT\wapttray.exe" "a b" "say \"x\"" dir\ ""`},
	}
	for _, tt := range tests {
		if got := RunValue(tt.exe, tt.args); got != tt.want {
			t.Errorf("RunValue(%q, %q) = %s, want %s", tt.exe, tt.args, got, tt.want)
		}
	}
}
