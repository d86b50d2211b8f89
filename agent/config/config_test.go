package config

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/wapt-go/wapt/shared/wire"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		ini     string
		check   func(t *testing.T, c Config, dir string)
		wantErr bool
	}{
		{
			name: "wapt defaults",
			ini:  "[global]\nrepo_url = https://srv.example.lan/wapt/\n",
			check: func(t *testing.T, c Config, dir string) {
				if len(c.Repos) != 1 || c.Repos[0].URL != "https://srv.example.lan/wapt" || c.Repos[0].HostURL != "https://srv.example.lan/wapt-host" {
					t.Errorf("repos = %+v", c.Repos)
				}
				if c.Repos[0].TrustDir != filepath.Join(dir, "ssl") || c.Repos[0].AllowUnsigned {
					t.Errorf("repo trust = %+v", c.Repos[0])
				}
				if c.DBPath != filepath.Join(dir, "db", "waptdb.sqlite") || c.CacheDir != filepath.Join(dir, "cache") {
					t.Errorf("paths = %s %s", c.DBPath, c.CacheDir)
				}
				if !reflect.DeepEqual(c.Maturities, []string{"PROD"}) || !c.UseHostPackages || c.ScriptTimeout != 30*time.Minute {
					t.Errorf("defaults = %+v", c)
				}
			},
		},
		{
			name: "wapt keys",
			ini: "[global]\nrepo_url=http://r/wapt\npublic_certs_dir=/etc/wapt/ssl\nindex_certs_dir=server-ca\ndbpath=data/w.sqlite\nmaturities=PROD, PREPROD\n" +
				"locales=fr,en\nuse_hostpackages=0\nhost_profiles=admins, devs\nhost_organizational_unit_dn=OU=a,DC=x\nrepositories=second\n" +
				"[second]\nrepo_url=https://second/wapt\nallow_unsigned_index=1\n",
			check: func(t *testing.T, c Config, dir string) {
				if c.DBPath != filepath.Join(dir, "data", "w.sqlite") {
					t.Errorf("dbpath = %s", c.DBPath)
				}
				if !reflect.DeepEqual(c.Maturities, []string{"PROD", "PREPROD"}) || !reflect.DeepEqual(c.Locales, []string{"fr", "en"}) ||
					c.UseHostPackages || !reflect.DeepEqual(c.HostProfiles, []string{"admins", "devs"}) || c.HostOUDN != "OU=a,DC=x" {
					t.Errorf("global = %+v", c)
				}
				if c.Repos[0].IndexTrustDir != filepath.Join(dir, "server-ca") {
					t.Errorf("index_certs_dir = %s", c.Repos[0].IndexTrustDir)
				}
				if len(c.Repos) != 2 || c.Repos[1].Name != "second" || !c.Repos[1].AllowUnsigned || c.Repos[1].TrustDir != "/etc/wapt/ssl" {
					t.Errorf("repos = %+v", c.Repos)
				}
			},
		},
		{
			name: "server",
			ini:  "[global]\nwapt_server = https://srv.example.lan/\nverify_cert = ssl/server/ca.crt\n",
			check: func(t *testing.T, c Config, dir string) {
				if c.Server != "https://srv.example.lan" || c.ServerCA != filepath.Join(dir, "ssl", "server", "ca.crt") {
					t.Errorf("server = %q, ca = %q", c.Server, c.ServerCA)
				}
				if c.HostKey != filepath.Join(dir, "private", "host.pem") || c.HostCert != filepath.Join(dir, "private", "host.crt") {
					t.Errorf("host identity = %q %q", c.HostKey, c.HostCert)
				}
			},
		},
		{
			name: "service",
			ini:  "[global]\nwaptupdate_task_period = 30\nwaptupgrade_task_period = 6h\nenrollment_token = tok \nlocal_api = run/agent.sock\nallow_remote_reboot = 1\n",
			check: func(t *testing.T, c Config, dir string) {
				if c.UpdatePeriod != 30*time.Minute || c.UpgradePeriod != 6*time.Hour || c.EnrollmentToken != "tok" ||
					c.LocalAPI != filepath.Join(dir, "run", "agent.sock") || !c.AllowRemoteReboot {
					t.Errorf("service = %+v", c)
				}
			},
		},
		{
			name: "service defaults",
			ini:  "[global]\n",
			check: func(t *testing.T, c Config, dir string) {
				if c.UpdatePeriod != 120*time.Minute || c.UpgradePeriod != 0 || c.LocalAPI != "" || c.AllowRemoteReboot {
					t.Errorf("service defaults = %+v", c)
				}
			},
		},
		{
			name: "waptexit",
			ini: "[global]\nallow_cancel_upgrade = 0\nupgrade_priorities = critical, high\nupgrade_only_if_not_process_running = 1\n" +
				"max_waptexit_duration = 600\nwaptexit_countdown = 1m\n",
			check: func(t *testing.T, c Config, dir string) {
				if c.AllowCancelUpgrade || !reflect.DeepEqual(c.UpgradePriorities, []string{"critical", "high"}) ||
					!c.UpgradeOnlyIfNotProcessRunning || c.MaxWaptexitDuration != 10*time.Minute || c.WaptexitCountdown != time.Minute {
					t.Errorf("waptexit = %+v", c)
				}
				want := wire.ExitPolicy{AllowCancel: false, Priorities: []string{"critical", "high"}, OnlyIfNotProcessRunning: true, MaxDuration: 600, Countdown: 60}
				if p := c.ExitPolicy(); !reflect.DeepEqual(*p, want) {
					t.Errorf("ExitPolicy = %+v, want %+v", *p, want)
				}
			},
		},
		{
			name: "waptexit defaults",
			ini:  "[global]\n",
			check: func(t *testing.T, c Config, dir string) {
				if !c.AllowCancelUpgrade || c.UpgradePriorities != nil || c.UpgradeOnlyIfNotProcessRunning ||
					c.MaxWaptexitDuration != 0 || c.WaptexitCountdown != 10*time.Second {
					t.Errorf("waptexit defaults = %+v", c)
				}
				if d := Default(""); !d.AllowCancelUpgrade || d.WaptexitCountdown != 10*time.Second {
					t.Errorf("Default waptexit = %v %v", d.AllowCancelUpgrade, d.WaptexitCountdown)
				}
				want := wire.ExitPolicy{AllowCancel: true, Countdown: 10}
				if p := c.ExitPolicy(); !reflect.DeepEqual(*p, want) {
					t.Errorf("ExitPolicy = %+v, want %+v", *p, want)
				}
				c.MaxWaptexitDuration = 1500 * time.Millisecond
				if p := c.ExitPolicy(); p.MaxDuration != 2 {
					t.Errorf("1.5 s cap = %d s, want 2 (rounded up, never 0 = no cap)", p.MaxDuration)
				}
			},
		},
		{name: "negative waptexit duration", ini: "[global]\nmax_waptexit_duration = -1\n", wantErr: true},
		{name: "bad waptexit countdown", ini: "[global]\nwaptexit_countdown = soon\n", wantErr: true},
		{name: "bad update period", ini: "[global]\nwaptupdate_task_period = often\n", wantErr: true},
		{name: "negative upgrade period", ini: "[global]\nwaptupgrade_task_period = -5\n", wantErr: true},
		{name: "verification off refused", ini: "[global]\nwapt_server = https://srv\nverify_cert = 0\n", wantErr: true},
		{name: "bad server url", ini: "[global]\nwapt_server = srv.example.lan\n", wantErr: true},
		{name: "missing section", ini: "[global]\nrepositories=nope\n", wantErr: true},
		{name: "bad url", ini: "[global]\nrepo_url=ftp://x/wapt\n", wantErr: true},
		{name: "bad timeout", ini: "[global]\nscript_timeout=-1s\n", wantErr: true},
		{name: "syntax", ini: "[global\nrepo_url=x\n", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, "wapt-get.ini")
			if err := os.WriteFile(p, []byte(tt.ini), 0o644); err != nil {
				t.Fatal(err)
			}
			c, err := Load(p)
			if tt.wantErr {
				if !errors.Is(err, ErrConfig) {
					t.Fatalf("err = %v, want ErrConfig", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, c, dir)
		})
	}
	if _, err := Load(filepath.Join(t.TempDir(), "none.ini")); !errors.Is(err, ErrConfig) {
		t.Errorf("missing file: err = %v", err)
	}
}
