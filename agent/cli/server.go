package cli

import (
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"gopkg.in/ini.v1"

	"github.com/wapt-go/wapt/server/client"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/control"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/wire"
)

// ServerEnv is the environment variable holding the waptserver URL.
const ServerEnv = "WAPT_SERVER"

// serverCommands are the admin verbs that talk to the waptserver API.
func serverCommands(env *Env) []*cobra.Command {
	return []*cobra.Command{
		uploadPackageCmd(env),
		buildUploadCmd(env),
		editHostCmd(env),
		makeGroupTemplateCmd(env),
		hostsCmd(env),
		hostShowCmd(env),
		registerAdminCmd(env),
		adminsCmd(env),
		adminRightsCmd(env),
		adminRemoveCmd(env),
		auditLogCmd(env),
		hostActionCmd(env),
		actionsCmd(env),
	}
}

// adminRightsCmd changes the rights of a registered admin certificate.
func adminRightsCmd(env *Env) *cobra.Command {
	var sf serverFlags
	var rights []string
	cmd := &cobra.Command{
		Use:   "admin-rights FINGERPRINT --rights view,edit_host_package,...",
		Short: "Replace the rights of a registered admin certificate (needs the admin right)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			rs := splitList(strings.Join(rights, ","))
			if len(rs) == 0 {
				return usagef("admin-rights: --rights is required (%s)", strings.Join(wire.Rights, ", "))
			}
			if err := sf.check(env, "admin-rights", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			if err := c.SetAdminRights(cmd.Context(), strings.ToLower(args[0]), rs); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "rights of %s: %s\n", args[0], strings.Join(rs, ","))
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&rights, "rights", nil, "rights, comma-separated: "+strings.Join(wire.Rights, ", "))
	sf.add(cmd, true)
	return cmd
}

// adminRemoveCmd unregisters an admin certificate.
func adminRemoveCmd(env *Env) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "admin-remove FINGERPRINT",
		Short: "Unregister an admin certificate: the server no longer accepts it (needs the admin right)",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(env, "admin-remove", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			if err := c.RemoveAdmin(cmd.Context(), strings.ToLower(args[0])); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "admin %s removed\n", args[0])
			return nil
		},
	}
	sf.add(cmd, true)
	return cmd
}

// auditLogCmd prints the server's audit log.
func auditLogCmd(env *Env) *cobra.Command {
	var sf serverFlags
	var limit int
	cmd := &cobra.Command{
		Use:   "audit-log [--limit N] [--json]",
		Short: "Show the server's audit log of writes, newest first (needs the admin right)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.check(env, "audit-log", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			es, err := c.AuditLog(cmd.Context(), limit)
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(env.Stdout, es)
			}
			tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "WHEN\tWHO\tACTION\tTARGET\tDETAIL")
			for _, e := range es {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", formatTime(e.At), e.Actor, e.Action, dash(e.Target), dash(shortLine(e.Detail)))
			}
			return tw.Flush()
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 100, "number of entries (1..1000)")
	sf.add(cmd, true)
	return cmd
}

// adminsCmd lists the admin certificates the server knows and their rights.
func adminsCmd(env *Env) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "admins [--json]",
		Short: "List the admins registered on the server and their rights (needs the admin right)",
		Args:  exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := sf.check(env, "admins", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			l, err := c.ListAdmins(cmd.Context())
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(env.Stdout, l)
			}
			tw := tabwriter.NewWriter(env.Stdout, 2, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "NAME\tRIGHTS\tVALID UNTIL\tFINGERPRINT")
			for _, a := range l.Admins {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", a.Name, strings.Join(a.Rights, ","), a.NotAfter.Format(time.DateOnly), a.Fingerprint)
			}
			return tw.Flush()
		},
	}
	sf.add(cmd, true)
	return cmd
}

// serverFlags are shared by the verbs that call the server.
type serverFlags struct {
	server, key, cert, ca string
	adminConfig           string
	timeout               time.Duration
	json                  bool
}

// AdminConfigEnv names the admin's INI file (WAPT's waptconsole.ini keys).
const AdminConfigEnv = "WAPT_ADMIN_CONFIG"

// fromAdminConfig fills the settings not given on the command line from
// the [global] section of the admin's INI file: wapt_server,
// personal_certificate_path, private_key_path, server_ca (relative paths
// are relative to the file).
func (f *serverFlags) fromAdminConfig(env *Env) error {
	path := f.adminConfig
	if path == "" {
		path = env.Getenv(AdminConfigEnv)
	}
	if path == "" {
		return nil
	}
	file, err := ini.Load(path)
	if err != nil {
		return fmt.Errorf("admin config %s: %w", path, err)
	}
	g := file.Section("global")
	rel := func(v string) string {
		if v == "" || filepath.IsAbs(v) {
			return v
		}
		return filepath.Join(filepath.Dir(path), v)
	}
	for dst, key := range map[*string]string{&f.server: "wapt_server", &f.cert: "personal_certificate_path", &f.key: "private_key_path", &f.ca: "server_ca"} {
		if *dst != "" {
			continue
		}
		v := strings.TrimSpace(g.Key(key).String())
		if key != "wapt_server" {
			v = rel(v)
		}
		*dst = v
	}
	return nil
}

// add registers the flags; identity adds --key/--cert (the admin identity
// every request is signed with).
func (f *serverFlags) add(cmd *cobra.Command, identity bool) {
	fl := cmd.Flags()
	fl.StringVar(&f.server, "server", "", "waptserver URL, https://host[:port] (default $"+ServerEnv+")")
	fl.StringVar(&f.ca, "ca", "", "CA certificate(s) of the server's TLS certificate (default: the system roots)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "timeout of each request")
	fl.BoolVar(&f.json, "json", false, "print the server's answer as JSON")
	fl.StringVar(&f.adminConfig, "admin-config", "", "INI file with wapt_server, personal_certificate_path, private_key_path, server_ca in [global] (default $"+AdminConfigEnv+")")
	if identity {
		fl.StringVar(&f.key, "key", "", "admin private key (password from $"+PasswordEnv+" or a prompt)")
		fl.StringVar(&f.cert, "cert", "", "admin certificate (chain)")
	}
}

// check reports command-line mistakes before anything is read or sent.
func (f *serverFlags) check(env *Env, name string, identity bool) error {
	if f.server == "" {
		f.server = env.Getenv(ServerEnv)
	}
	if err := f.fromAdminConfig(env); err != nil {
		return err
	}
	if !identity {
		f.key, f.cert = "", ""
	}
	if f.server == "" {
		return usagef("%s: --server URL (or $%s) is required", name, ServerEnv)
	}
	u, err := url.Parse(f.server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usagef("%s: --server %q: want http(s)://host[:port]", name, f.server)
	}
	if f.timeout <= 0 {
		return usagef("%s: --timeout must be positive", name)
	}
	if identity && (f.key == "" || f.cert == "") {
		return usagef("%s: --key and --cert (the admin identity) are required", name)
	}
	return nil
}

// connect returns a client signing with keyPath/certPath (unsigned when
// both are empty), and the loaded key and chain.
func (f *serverFlags) connect(env *Env, keyPath, certPath string) (*client.Client, crypto.Signer, []*x509.Certificate, error) {
	hc := &http.Client{}
	if f.ca != "" {
		roots, err := certs.LoadCerts(f.ca)
		if err != nil {
			return nil, nil, nil, fmt.Errorf("--ca: %w", err)
		}
		pool := x509.NewCertPool()
		for _, c := range roots {
			pool.AddCert(c)
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}
		hc.Transport = tr
	}
	cfg := client.Config{BaseURL: f.server, HTTPClient: hc, Timeout: f.timeout, UserAgent: "wapt-get", Now: env.Now}
	var (
		key   crypto.Signer
		chain []*x509.Certificate
	)
	if keyPath != "" || certPath != "" {
		var err error
		if key, chain, err = loadKeyPair(env, keyPath, certPath); err != nil {
			return nil, nil, nil, err
		}
		cfg.Signer, cfg.Cert = key, chain[0]
	}
	c, err := client.New(cfg)
	if err != nil {
		return nil, nil, nil, err
	}
	return c, key, chain, nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// upload is one file to upload and the name to report it by.
type upload struct{ label, path string }

// uploadAll uploads files in order, printing each result; it goes on after
// a failure and returns errPartial when some uploads succeeded.
func uploadAll(ctx context.Context, env *Env, c *client.Client, files []upload, asJSON bool) error {
	var (
		done  []wire.PackageInfo
		fails int
	)
	for _, f := range files {
		info, err := c.UploadPackage(ctx, f.path)
		if err != nil {
			err = fmt.Errorf("upload %s: %w", f.label, err)
			if len(files) == 1 {
				return err
			}
			fails++
			fmt.Fprintf(env.Stderr, "wapt-get: %v\n", err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		done = append(done, info)
		if !asJSON {
			fmt.Fprintf(env.Stdout, "uploaded %s: %s %s (%s)\n", f.label, info.Package, info.Version, info.Filename)
		}
	}
	if asJSON {
		if err := printJSON(env.Stdout, done); err != nil {
			return err
		}
	}
	switch {
	case fails == 0:
		return nil
	case len(done) == 0:
		return fmt.Errorf("all %d uploads failed", len(files))
	}
	return fmt.Errorf("%w: %d of %d uploads failed", errPartial, fails, len(files))
}

func uploadPackageCmd(env *Env) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "upload-package FILE.wapt... --server URL --key K --cert C",
		Short: "Upload signed packages to the waptserver repository",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(env, "upload-package", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			files := make([]upload, len(args))
			for i, a := range args {
				files[i] = upload{a, a}
			}
			return uploadAll(cmd.Context(), env, c, files, sf.json)
		},
	}
	sf.add(cmd, true)
	return cmd
}

func buildUploadCmd(env *Env) *cobra.Command {
	var sf serverFlags
	cmd := &cobra.Command{
		Use:   "build-upload DIR... --server URL --key K --cert C",
		Short: "Build packages from source directories, sign them with the admin key and upload them",
		Args:  minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := sf.check(env, "build-upload", true); err != nil {
				return err
			}
			c, key, chain, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			tmp, err := os.MkdirTemp("", "wapt-build-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			var files []upload
			for i, dir := range args {
				out := filepath.Join(tmp, strconv.Itoa(i))
				path, _, err := pkgfile.Build(cmd.Context(), dir, pkgfile.BuildOptions{OutDir: out, Signer: key, Chain: chain, Now: env.Now()})
				if err != nil {
					return fmt.Errorf("build %s: %w", dir, err)
				}
				files = append(files, upload{dir, path})
			}
			return uploadAll(cmd.Context(), env, c, files, sf.json)
		},
	}
	sf.add(cmd, true)
	return cmd
}

// splitList splits a comma-separated list, trimming items and dropping
// empty ones.
func splitList(s string) []string {
	var out []string
	for item := range strings.SplitSeq(s, ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

// hostVersion returns the version of a new host package: the UTC time as
// YYYYMMDDhhmmss, or the server's current integer version + 1 when that is
// higher (two edits in the same second, or a clock behind).
func hostVersion(now time.Time, current string) int64 {
	v, _ := strconv.ParseInt(now.UTC().Format("20060102150405"), 10, 64)
	if n, err := strconv.ParseInt(strings.TrimSpace(current), 10, 64); err == nil && n >= v {
		v = n + 1
	}
	return v
}

// currentHostVersion asks the server for the version of uuid's host
// package; "" when there is none or the list cannot be read.
func currentHostVersion(ctx context.Context, env *Env, c *client.Client, uuid string) string {
	l, err := c.ListPackages(ctx)
	if err != nil {
		fmt.Fprintf(env.Stderr, "warning: cannot read the current host package version, using the clock: %v\n", err)
		return ""
	}
	best := ""
	for _, p := range l.Packages {
		if strings.EqualFold(p.Package, uuid) && p.Section == "host" {
			if n, err := strconv.ParseInt(p.Version, 10, 64); err == nil {
				if b, _ := strconv.ParseInt(best, 10, 64); best == "" || n > b {
					best = p.Version
				}
			}
		}
	}
	return best
}

func editHostCmd(env *Env) *cobra.Command {
	var (
		sf                 serverFlags
		depends, conflicts string
	)
	cmd := &cobra.Command{
		Use:   "edit-host UUID --depends a,b [--conflicts c] --server URL --key K --cert C",
		Short: "Build, sign and upload the host package of UUID with these depends and conflicts",
		Long: "Replaces the host package of UUID (section host, package = UUID) by one with the given\n" +
			"depends and conflicts (--depends \"\" empties them). Its version is the current UTC time\n" +
			"(YYYYMMDDhhmmss), or the server's current version + 1 when that is higher.",
		Args: exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			uuid := args[0]
			if !wire.ValidUUID(uuid) {
				return usagef("edit-host: %q is not a host uuid ([A-Za-z0-9._-], at most %d characters)", uuid, wire.MaxUUIDLen)
			}
			if !cmd.Flags().Changed("depends") && !cmd.Flags().Changed("conflicts") {
				return usagef("edit-host: --depends or --conflicts is required")
			}
			if err := sf.check(env, "edit-host", true); err != nil {
				return err
			}
			ctl := control.New()
			ctl.Set("package", uuid)
			ctl.Set("version", "0")
			ctl.Set("architecture", "all")
			ctl.Set("section", "host")
			ctl.Set("priority", "optional")
			ctl.Set("description", "Host package of "+uuid)
			ctl.Set("depends", strings.Join(splitList(depends), ","))
			ctl.Set("conflicts", strings.Join(splitList(conflicts), ","))
			if err := ctl.Validate(); err != nil {
				return usageError{fmt.Sprintf("edit-host: %v", err)}
			}
			c, key, chain, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			ver := hostVersion(env.Now(), currentHostVersion(ctx, env, c, uuid))
			ctl.Set("version", strconv.FormatInt(ver, 10))
			ctl.Set("maintainer", chain[0].Subject.CommonName)

			tmp, err := os.MkdirTemp("", "wapt-host-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			src := filepath.Join(tmp, "src")
			if err := writeControl(src, ctl); err != nil {
				return err
			}
			path, _, err := pkgfile.Build(ctx, src, pkgfile.BuildOptions{OutDir: filepath.Join(tmp, "out"), Signer: key, Chain: chain, Now: env.Now()})
			if err != nil {
				return err
			}
			info, err := c.UploadPackage(ctx, path)
			if err != nil {
				return fmt.Errorf("upload the host package of %s: %w", uuid, err)
			}
			if sf.json {
				return printJSON(env.Stdout, info)
			}
			fmt.Fprintf(env.Stdout, "uploaded host package %s version %s (depends: %s; conflicts: %s)\n",
				uuid, ctl.Get("version"), orNone(ctl.Get("depends")), orNone(ctl.Get("conflicts")))
			return nil
		},
	}
	sf.add(cmd, true)
	cmd.Flags().StringVar(&depends, "depends", "", "comma-separated packages the host must have")
	cmd.Flags().StringVar(&conflicts, "conflicts", "", "comma-separated packages the host must not have")
	return cmd
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// writeControl writes dir/WAPT/control.
func writeControl(dir string, c *control.Control) error {
	if err := os.MkdirAll(filepath.Join(dir, "WAPT"), 0o755); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, filepath.FromSlash(pkgfile.ControlName)), c.Format(), 0o644)
}

func makeGroupTemplateCmd(env *Env) *cobra.Command {
	var outDir, description string
	cmd := &cobra.Command{
		Use:   "make-group-template NAME [DEPENDS...] [-o DIR]",
		Short: "Write the source directory of a group package (DIR/NAME/WAPT/control); prints its path",
		Long: "A group package only depends on other packages: hosts that depend on the group get them.\n" +
			"DEPENDS may also be comma-separated. Build and upload it with build-upload.",
		Args: minArgs(1),
		RunE: func(_ *cobra.Command, args []string) error {
			name := args[0]
			if !safeName.MatchString(name) {
				return usagef("make-group-template: %q cannot be a package name (letters, digits, . _ -)", name)
			}
			var deps []string
			for _, a := range args[1:] {
				deps = append(deps, splitList(a)...)
			}
			ctl := control.New()
			ctl.Set("package", name)
			ctl.Set("version", "0")
			ctl.Set("architecture", "all")
			ctl.Set("section", "group")
			ctl.Set("priority", "optional")
			if description == "" {
				description = "Group " + name
			}
			ctl.Set("description", description)
			ctl.Set("depends", strings.Join(deps, ","))
			if err := ctl.Validate(); err != nil {
				return usageError{fmt.Sprintf("make-group-template: %v", err)}
			}
			dir := filepath.Join(outDir, name)
			if _, err := os.Lstat(dir); err == nil {
				return fmt.Errorf("%s already exists", dir)
			} else if !errors.Is(err, os.ErrNotExist) {
				return err
			}
			if err := writeControl(dir, ctl); err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, dir)
			return nil
		},
	}
	cmd.Flags().StringVarP(&outDir, "output", "o", ".", "directory to create NAME in")
	cmd.Flags().StringVar(&description, "description", "", "description (default \"Group NAME\")")
	return cmd
}

// filterKeys are the keys of --filter, for the usage messages.
const filterKeys = "status, package, os, group, unit, q, software, manufacturer, model, ram_min, ram_max, disk_free_min, duplicates"

// parseFilters turns --filter values into a HostQuery. An item is
// KEY=VALUE or KEY:VALUE (whichever separator comes first), items are
// separated by commas outside parentheses ("status=ERROR,package=firefox(<115)",
// "software:openssl<99"), and a unit DN keeps its commas
// ("unit=OU=prod,DC=example,DC=lan").
func parseFilters(values []string, q *client.HostQuery) error {
	for _, v := range values {
		prev := ""
		for _, item := range splitOutsideParens(v) {
			item = strings.TrimSpace(item)
			if item == "" {
				continue
			}
			if strings.EqualFold(item, "duplicates") {
				q.Duplicates, prev = true, "duplicates"
				continue
			}
			i := strings.IndexAny(item, "=:")
			if i < 0 {
				return usagef("hosts: --filter %q: want KEY=VALUE or KEY:VALUE (%s)", item, filterKeys)
			}
			k, val := strings.ToLower(strings.TrimSpace(item[:i])), item[i+1:]
			if prev == "unit" && rdnAttr.MatchString(k) && item[i] == '=' {
				// "DC=lan" after "unit=OU=prod": the rest of the DN.
				q.Unit += "," + item
				continue
			}
			prev = k
			if err := setFilter(q, k, val); err != nil {
				return err
			}
		}
	}
	return nil
}

// rdnAttr is an attribute type of a DN (OU, DC, CN, ...), but not one of
// the filter keys.
var rdnAttr = regexp.MustCompile(`^(?i:ou|dc|cn|o|l|st|c)$`)

// setFilter sets filter k of q to val.
func setFilter(q *client.HostQuery, k, val string) error {
	trimmed := strings.TrimSpace(val)
	size := func(dst *int64) error {
		n, err := wire.ParseSize(trimmed)
		if err != nil || n <= 0 {
			return usagef("hosts: --filter %s=%q: want a size in bytes or with K, M, G or T (binary: 8G = 8 GiB)", k, val)
		}
		*dst = n
		return nil
	}
	switch k {
	case "status":
		q.Status = strings.ToUpper(trimmed)
	case "package":
		q.Package = trimmed
	case "os":
		q.OS = trimmed
	case "q", "text":
		q.Text = val
	case "group":
		q.Group = trimmed
	case "unit":
		q.Unit = trimmed
	case "software":
		q.Software = trimmed
	case "manufacturer":
		q.Manufacturer = trimmed
	case "model":
		q.Model = trimmed
	case "ram_min":
		return size(&q.RAMMin)
	case "ram_max":
		return size(&q.RAMMax)
	case "disk_free_min":
		return size(&q.DiskFreeMin)
	case "duplicates":
		switch strings.ToLower(trimmed) {
		case "", "1", "true", "yes":
			q.Duplicates = true
		case "0", "false", "no":
			q.Duplicates = false
		default:
			return usagef("hosts: --filter duplicates=%q: want 1 or 0", val)
		}
	default:
		return usagef("hosts: --filter %q: unknown key (%s)", k, filterKeys)
	}
	return nil
}

func splitOutsideParens(s string) []string {
	var (
		out   []string
		depth int
		start int
	)
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth = max(0, depth-1)
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func hostsCmd(env *Env) *cobra.Command {
	var (
		sf             serverFlags
		filters        []string
		q              client.HostQuery
		export, output string
	)
	cmd := &cobra.Command{
		Use:   "hosts [--filter 'software:openssl<3.0.20,ram_max=8G'...] [--json | --export csv|csv-rows|json [-o FILE]]",
		Short: "List the hosts registered on the waptserver, or export them with their inventory",
		Long: "Filters (--filter KEY=VALUE or KEY:VALUE, comma-separated, repeatable):\n" +
			"  status=ERROR  package=firefox(<115)  os=debian  group=NAME  unit=OU=prod,DC=example,DC=lan  q=TEXT\n" +
			"  software=NAME[OP VERSION]  OP one of == = != < <= > >=, NAME case-insensitive, NAME* a prefix:\n" +
			"      software:openssl<3.0.20  'software=Mozilla Firefox (x64 en-US)>=128'  software:python3*\n" +
			"  manufacturer=TEXT  model=TEXT (substrings)  ram_min=8G  ram_max=4G  disk_free_min=20G (binary units)\n" +
			"  duplicates (hosts sharing their BIOS system UUID with another: cloned machines)\n" +
			"--export writes every matching host (no paging) with its hardware and software, GLPI field\n" +
			"names: csv (one line per host, software in a \"softwares\" column \"name version; ...\"),\n" +
			"csv-rows (one line per host and software) or json; to FILE with -o, else to stdout.",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := parseFilters(filters, &q); err != nil {
				return err
			}
			if q.Offset < 0 || q.Limit < 0 {
				return usagef("hosts: --offset and --limit must not be negative")
			}
			if export != "" && !slices.Contains(wire.ExportFormats, export) {
				return usagef("hosts: --export %q: want %s", export, strings.Join(wire.ExportFormats, ", "))
			}
			if output != "" && export == "" {
				return usagef("hosts: -o goes with --export")
			}
			if err := sf.check(env, "hosts", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			if export != "" {
				return exportHosts(cmd.Context(), env, c, q, export, output)
			}
			l, err := c.ListHosts(cmd.Context(), q)
			if err != nil {
				return err
			}
			if sf.json {
				return printJSON(env.Stdout, l)
			}
			tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "UUID\tFQDN\tSTATUS\tOS\tPENDING\tERRORS\tLAST SEEN")
			dups := 0
			for _, h := range l.Hosts {
				id := h.UUID
				if h.DuplicateSystemUUID {
					id += " *"
					dups++
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%d\t%s\n", id, dash(h.FQDN), dash(h.Status),
					dash(strings.TrimSpace(h.OS+" "+h.OSVersion)), h.Pending, h.Errors, formatTime(h.LastSeen))
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if dups > 0 {
				fmt.Fprintln(env.Stderr, "* shares its BIOS system UUID with another host (a cloned machine?): host-show UUID lists them")
			}
			if l.Total == 0 {
				fmt.Fprintln(env.Stderr, "no host matches")
			} else if len(l.Hosts) < l.Total {
				fmt.Fprintf(env.Stderr, "hosts %d to %d of %d (--offset, --limit for more)\n", l.Offset+1, l.Offset+len(l.Hosts), l.Total)
			}
			return nil
		},
	}
	sf.add(cmd, true)
	f := cmd.Flags()
	f.StringArrayVar(&filters, "filter", nil, "KEY=VALUE or KEY:VALUE[,...] with KEY "+filterKeys+" (see --help)")
	f.StringVar(&q.Sort, "sort", "", "order: name (default), last_seen or status")
	f.BoolVar(&q.Desc, "desc", false, "sort in descending order")
	f.IntVar(&q.Offset, "offset", 0, "first host of the page")
	f.IntVar(&q.Limit, "limit", 0, "hosts per page (default: the server's)")
	f.StringVar(&export, "export", "", "export every matching host with its inventory: csv, csv-rows or json")
	f.StringVarP(&output, "output", "o", "", "with --export: write to this file (replaced only once the export is complete)")
	return cmd
}

// exportHosts writes the export to output (through a temporary file,
// renamed when complete), or to stdout.
func exportHosts(ctx context.Context, env *Env, c *client.Client, q client.HostQuery, format, output string) error {
	if output == "" || output == "-" {
		return c.ExportHosts(ctx, q, format, env.Stdout)
	}
	tmp, err := os.CreateTemp(filepath.Dir(output), "."+filepath.Base(output)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	cw := &countingWriter{w: tmp}
	err = c.ExportHosts(ctx, q, format, cw)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("export to %s: %w", output, err)
	}
	if err := os.Rename(tmp.Name(), output); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "exported to %s (%d bytes)\n", output, cw.n)
	return nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func hostShowCmd(env *Env) *cobra.Command {
	var sf serverFlags
	var history int
	cmd := &cobra.Command{
		Use:   "host-show UUID [--json]",
		Short: "Show a host: status, packages, problems, last update and upgrade",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if !wire.ValidUUID(args[0]) {
				return usagef("host-show: %q is not a host uuid", args[0])
			}
			if err := sf.check(env, "host-show", true); err != nil {
				return err
			}
			c, _, _, err := sf.connect(env, sf.key, sf.cert)
			if err != nil {
				return err
			}
			d, err := c.Host(cmd.Context(), args[0])
			if err != nil {
				return err
			}
			var ev []wire.HostEvent
			if history > 0 {
				if ev, err = c.HostHistory(cmd.Context(), args[0], history); err != nil {
					return err
				}
			}
			if sf.json {
				if history > 0 {
					return printJSON(env.Stdout, struct {
						wire.HostDetail
						History []wire.HostEvent `json:"history"`
					}{d, ev})
				}
				return printJSON(env.Stdout, d)
			}
			if err := printHost(env.Stdout, d); err != nil {
				return err
			}
			return printHistory(env.Stdout, ev)
		},
	}
	cmd.Flags().IntVar(&history, "history", 20, "show the last N events of the host (0: none)")
	sf.add(cmd, true)
	return cmd
}

func printHost(w io.Writer, d wire.HostDetail) error {
	s := d.Summary
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, kv := range [][2]string{
		{"uuid", s.UUID}, {"fqdn", s.FQDN}, {"hostname", s.Hostname},
		{"os", strings.TrimSpace(s.OS + " " + s.OSVersion)}, {"status", s.Status},
		{"pending", strconv.Itoa(s.Pending)}, {"errors", strconv.Itoa(s.Errors)},
		{"last seen", formatTime(s.LastSeen)}, {"last report", formatTime(d.LastReport)},
		{"registered", formatTime(s.Registered)}, {"certificate", s.CertFingerprint},
		{"unit", s.Unit}, {"groups", strings.Join(d.Groups, ", ")},
		{"last update", runSummary(d.LastUpdate)}, {"last upgrade", runSummary(d.LastUpgrade)},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", kv[0], dash(kv[1]))
	}
	if hw := s.Hardware; hw != nil {
		disks := ""
		if hw.DiskTotalBytes > 0 {
			disks = humanBytes(hw.DiskTotalBytes)
			if hw.DiskFreeBytes != nil {
				disks += ", " + humanBytes(*hw.DiskFreeBytes) + " free"
			}
		}
		ram := ""
		if hw.RAMBytes > 0 {
			ram = humanBytes(hw.RAMBytes)
		}
		for _, kv := range [][2]string{
			{"system", strings.TrimSpace(hw.Manufacturer + " " + hw.Model)}, {"serial", hw.Serial},
			{"system uuid", hw.SystemUUID}, {"cpu", hw.CPU}, {"ram", ram}, {"disks", disks},
			{"os name", hw.OSName}, {"kernel", hw.Kernel},
		} {
			if kv[1] != "" {
				fmt.Fprintf(tw, "%s:\t%s\n", kv[0], kv[1])
			}
		}
	}
	if len(d.SameSystemUUID) > 0 {
		fmt.Fprintf(tw, "same system uuid:\t%s (cloned machines?)\n", strings.Join(d.SameSystemUUID, ", "))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, p := range d.Problems {
		fmt.Fprintf(w, "problem: %s\n", p)
	}
	if len(d.Packages) > 0 {
		fmt.Fprintln(w)
		tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "PACKAGE\tVERSION\tSTATUS\tSTATE\tAUDIT\tERROR")
		for _, p := range d.Packages {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", p.Package, dash(p.Version), dash(p.Status), dash(p.State),
				dash(p.AuditStatus), dash(shortLine(p.LastError)))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(d.Sections) > 0 {
		names := make([]string, 0, len(d.Sections))
		for n := range d.Sections {
			names = append(names, n)
		}
		slices.Sort(names)
		fmt.Fprintf(w, "\ninventory sections: %s (--json to see them)\n", strings.Join(names, ", "))
	}
	return nil
}

// humanBytes formats n bytes with a binary unit: "7.7 GiB".
func humanBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 4; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTP"[exp])
}

func printHistory(w io.Writer, ev []wire.HostEvent) error {
	if len(ev) == 0 {
		return nil
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tEVENT\tBY\tTARGET\tDETAIL")
	for _, e := range ev {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", formatTime(e.At), e.Kind, dash(e.Actor), dash(e.Target), dash(shortLine(e.Detail)))
	}
	return tw.Flush()
}

func runSummary(r *wire.RunSummary) string {
	switch {
	case r == nil:
		return ""
	case r.OK:
		return "OK at " + formatTime(r.Time)
	}
	return "FAILED at " + formatTime(r.Time) + ": " + shortLine(r.Error)
}

// shortLine returns the first line of s, cut to 120 bytes.
func shortLine(s string) string {
	s = firstLine(s)
	if len(s) > 120 {
		s = strings.ToValidUTF8(s[:120], "") + "…"
	}
	return s
}

func registerAdminCmd(env *Env) *cobra.Command {
	var (
		sf                    serverFlags
		certPath, passwordEnv string
		signerKey, signerCert string
		rights                []string
	)
	cmd := &cobra.Command{
		Use:   "register-admin --cert C --rights view,admin... (--bootstrap-password-env VAR | --signer-key K --signer-cert S) --server URL",
		Short: "Register an admin certificate and its rights on the waptserver",
		Long: "The first admin is registered with the bootstrap password, read from the environment\n" +
			"variable named by --bootstrap-password-env (never from the command line). Later ones are\n" +
			"registered by an admin holding the admin right: --signer-key/--signer-cert. Rights: " +
			strings.Join(wire.Rights, ", ") + ".",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if certPath == "" {
				return usagef("register-admin: --cert (the certificate to register) is required")
			}
			if len(rights) == 0 {
				return usagef("register-admin: --rights is required (%s)", strings.Join(wire.Rights, ", "))
			}
			bootstrap := passwordEnv != ""
			signed := signerKey != "" || signerCert != ""
			if bootstrap == signed {
				return usagef("register-admin: give either --bootstrap-password-env VAR or --signer-key and --signer-cert")
			}
			if signed && (signerKey == "" || signerCert == "") {
				return usagef("register-admin: --signer-key and --signer-cert go together")
			}
			req := wire.AdminRegisterRequest{Rights: rights}
			if bootstrap {
				if req.BootstrapPassword = env.Getenv(passwordEnv); req.BootstrapPassword == "" {
					return usagef("register-admin: $%s is empty or unset", passwordEnv)
				}
			}
			if err := sf.check(env, "register-admin", false); err != nil {
				return err
			}
			chain, err := certs.LoadCerts(certPath)
			if err != nil {
				return err
			}
			req.Certificate = string(certs.EncodeCertsPEM(chain...))
			if err := req.Validate(); err != nil {
				return usageError{fmt.Sprintf("register-admin: %v", err)}
			}
			c, _, _, err := sf.connect(env, signerKey, signerCert)
			if err != nil {
				return err
			}
			if err := c.RegisterAdmin(cmd.Context(), req); err != nil {
				return err
			}
			if sf.json {
				return printJSON(env.Stdout, map[string]any{"certificate": chain[0].Subject.CommonName, "rights": rights})
			}
			fmt.Fprintf(env.Stdout, "registered admin %q with rights %s\n", chain[0].Subject.CommonName, strings.Join(rights, ","))
			return nil
		},
	}
	sf.add(cmd, false)
	f := cmd.Flags()
	f.StringVar(&certPath, "cert", "", "admin certificate (chain) to register")
	f.StringSliceVar(&rights, "rights", nil, "rights to grant, comma-separated")
	f.StringVar(&passwordEnv, "bootstrap-password-env", "", "name of the environment variable holding the bootstrap password (first admin)")
	f.StringVar(&signerKey, "signer-key", "", "key of an admin with the admin right, to sign the request")
	f.StringVar(&signerCert, "signer-cert", "", "certificate (chain) of that admin")
	return cmd
}
