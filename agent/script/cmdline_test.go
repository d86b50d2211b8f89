package script

import (
	"reflect"
	"strings"
	"testing"

	"go.starlark.net/starlark"
)

func TestCommandLines(t *testing.T) {
	tests := []struct {
		name, got, want string
	}{
		{"msi", msiInstallCmd(`C:\pkg\7z.msi`, nil, ""), `msiexec /norestart /q /i "C:\pkg\7z.msi"`},
		{"msi properties", msiInstallCmd(`7z.msi`, []msiProperty{{"ALLUSERS", "1"}, {"INSTALLDIR", `C:\Program Files\7z`}}, ""),
			`msiexec /norestart /q /i "7z.msi" ALLUSERS=1 INSTALLDIR="C:\Program Files\7z"`},
		{"msi raw properties", msiInstallCmd(`a.msi`, nil, " TRANSFORMS=a.mst "), `msiexec /norestart /q /i "a.msi" TRANSFORMS=a.mst`},
		{"exe", exeInstallCmd(`C:\pkg\setup.exe`, "/S"), `"C:\pkg\setup.exe" /S`},
		{"exe no flags", exeInstallCmd(`setup.exe`, " "), `"setup.exe"`},
		{"shell", windowsShellCmdLine(`C:\Windows\system32\cmd.exe`, `"a b.exe" /S`), `C:\Windows\system32\cmd.exe /c ""a b.exe" /S"`},
		{"quiet uninstall wins", quietUninstallCmd(`"C:\x\unins000.exe" /SILENT`, "ignored"), `"C:\x\unins000.exe" /VERYSILENT`},
		{"msi uninstall", quietUninstallCmd("", "MsiExec.exe /I{1234}"), "MsiExec.exe /X{1234} /q /norestart"},
		{"exe uninstall", quietUninstallCmd("", `"C:\x\uninst.exe" /S`), `"C:\x\uninst.exe" /S`},
		{"inno", guessSilentFlags("setup.exe", []byte("..Inno.Setup..")), "/VERYSILENT /SUPPRESSMSGBOXES /NORESTART"},
		{"nsis", guessSilentFlags("setup.EXE", []byte("http://nsis.sf.net/")), "/S"},
		{"msi flags", guessSilentFlags("a.msi", nil), "/q /norestart"},
		{"msu flags", guessSilentFlags("kb.msu", nil), "/quiet /norestart"},
		{"unknown exe", guessSilentFlags("x.exe", []byte("MZ")), "/VERYSILENT"},
		{"root name", registryRootName(hkeyLocalMachine), "HKEY_LOCAL_MACHINE"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
		})
	}
}

func TestArgvBuilders(t *testing.T) {
	tests := []struct {
		name      string
		got, want []string
	}{
		{"pkg", pkgInstallArgv("/tmp/a b.pkg"), []string{"installer", "-pkg", "/tmp/a b.pkg", "-target", "/"}},
		{"attach", dmgAttachArgv("/tmp/x.dmg", "/tmp/m"), []string{"hdiutil", "attach", "-nobrowse", "-readonly", "-noautoopen", "-mountpoint", "/tmp/m", "/tmp/x.dmg"}},
		{"detach", dmgDetachArgv("/tmp/m"), []string{"hdiutil", "detach", "-force", "/tmp/m"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !reflect.DeepEqual(tt.got, tt.want) {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
}

func TestMSIPropertyScript(t *testing.T) {
	s := msiPropertyScript(`C:\it's.msi`, "ProductCode'; drop")
	for _, want := range []string{`'C:\it''s.msi'`, `Property='ProductCodedrop'`} {
		if !strings.Contains(s, want) {
			t.Errorf("script %s lacks %s", s, want)
		}
	}
}

func TestPrepassKeepsLines(t *testing.T) {
	src := "# -*- coding: utf-8 -*-\nfrom setuphelpers import *\nimport os\nx = u'a' if 1 is not 2 else ur'b'\nfrom os.path import (join,\n  basename as bn)\nraise ValueError('x')\n"
	out, lerr := prepass([]byte(src), (&env{}).buildModules(), starlark.StringDict{})
	if lerr != nil {
		t.Fatal(lerr.msg)
	}
	want := "\npass\npass\nx = 'a' if 1 != 2 else r'b'\njoin = os.path.join; bn = os.path.basename\n\nerror('x')\n"
	if out != want {
		t.Errorf("got  %q\nwant %q", out, want)
	}
}
