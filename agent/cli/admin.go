package cli

import (
	"crypto"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"time"

	"github.com/spf13/cobra"

	"github.com/wapt-go/wapt/shared/atomicfile"
	"github.com/wapt-go/wapt/shared/certs"
	"github.com/wapt-go/wapt/shared/pkgfile"
	"github.com/wapt-go/wapt/shared/repoindex"
	"github.com/wapt-go/wapt/shared/signing"
)

var safeName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

func createKeycertCmd(env *Env) *cobra.Command {
	var (
		cn, out, issuerKey, issuerCert, keyType string
		codeSigning, ca, repoRole, force        bool
		bits, days                              int
	)
	cmd := &cobra.Command{
		Use:   "create-keycert --cn NAME --out DIR [--code-signing|--ca|--repo] [--issuer-key K --issuer-cert C]",
		Short: "Create a private key (NAME.pem) and certificate (NAME.crt) for an admin, a CA or a repository",
		Long: "Writes DIR/NAME.pem, encrypted with $WAPT_KEY_PASSWORD (unencrypted when it is empty),\n" +
			"and DIR/NAME.crt (the certificate followed by its issuer chain). Without --issuer-* the\n" +
			"certificate is self-signed. --code-signing may sign packages with setup.py; --ca may issue\n" +
			"certificates; --repo signs repository indexes (Packages.sig) and nothing else; none: a simple\n" +
			"admin certificate (config-only packages, actions).",
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if cn == "" || out == "" {
				return usagef("create-keycert: --cn and --out are required")
			}
			if !safeName.MatchString(cn) {
				return usagef("create-keycert: --cn %q cannot be used as a file name (letters, digits, . _ -)", cn)
			}
			if n := btoi(ca) + btoi(codeSigning) + btoi(repoRole); n > 1 {
				return usagef("create-keycert: choose one of --ca, --code-signing, --repo")
			}
			if (issuerKey == "") != (issuerCert == "") {
				return usagef("create-keycert: --issuer-key and --issuer-cert go together")
			}
			role := certs.RoleSimple
			switch {
			case ca:
				role = certs.RoleCA
			case codeSigning:
				role = certs.RoleCodeSigning
			case repoRole:
				role = certs.RoleRepository
			}
			req := certs.Request{CN: cn, Role: role, KeyType: keyType, Bits: bits, Now: env.Now()}
			if days > 0 {
				req.Validity = time.Duration(days) * 24 * time.Hour
			}
			var issuerChain []*x509.Certificate
			if issuerKey != "" {
				key, chain, err := loadKeyPair(env, issuerKey, issuerCert)
				if err != nil {
					return fmt.Errorf("issuer: %w", err)
				}
				req.Issuer, req.IssuerKey = chain[0], key
				issuerChain = chain
			}
			keyPath, certPath := filepath.Join(out, cn+".pem"), filepath.Join(out, cn+".crt")
			if !force {
				for _, p := range []string{keyPath, certPath} {
					if _, err := os.Stat(p); err == nil {
						return fmt.Errorf("%s already exists (use --force to replace it)", p)
					}
				}
			}
			key, cert, err := certs.Generate(req)
			if err != nil {
				return err
			}
			keyPEM, err := certs.EncodePrivateKeyPEM(key, []byte(env.Getenv(PasswordEnv)))
			if err != nil {
				return err
			}
			if err := os.MkdirAll(out, 0o755); err != nil {
				return err
			}
			if err := atomicfile.WriteFile(keyPath, keyPEM, 0o600); err != nil {
				return err
			}
			if err := atomicfile.WriteFile(certPath, certs.EncodeCertsPEM(append([]*x509.Certificate{cert}, issuerChain...)...), 0o644); err != nil {
				return err
			}
			enc := "encrypted"
			if env.Getenv(PasswordEnv) == "" {
				enc = "NOT encrypted ($" + PasswordEnv + " is empty)"
			}
			fmt.Fprintf(env.Stdout, "%s\n%s\n", keyPath, certPath)
			fmt.Fprintf(env.Stderr, "created %s certificate %q, fingerprint %s, valid until %s; key %s\n",
				role, cn, signing.Fingerprint(cert), cert.NotAfter.UTC().Format(time.DateOnly), enc)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&cn, "cn", "", "common name; also the base name of the files")
	f.StringVar(&out, "out", "", "output directory")
	f.BoolVar(&codeSigning, "code-signing", false, "may sign packages that contain setup.py")
	f.BoolVar(&ca, "ca", false, "certificate authority: may issue certificates")
	f.BoolVar(&repoRole, "repo", false, "repository key: signs Packages.sig (scan-packages --key) and nothing else")
	f.StringVar(&issuerKey, "issuer-key", "", "private key of the issuing CA (default: self-signed)")
	f.StringVar(&issuerCert, "issuer-cert", "", "certificate (chain) of the issuing CA")
	f.StringVar(&keyType, "key-type", "rsa", "rsa or ecdsa")
	f.IntVar(&bits, "bits", 0, "RSA key size (default 3072)")
	f.IntVar(&days, "days", 0, "validity in days (default 3 years, 10 for a CA)")
	f.BoolVar(&force, "force", false, "replace existing files")
	return cmd
}

func buildPackageCmd(env *Env) *cobra.Command {
	var outDir, keyPath, certPath string
	cmd := &cobra.Command{
		Use:   "build-package DIR [-o OUTDIR] [--key K --cert C]",
		Short: "Build a .wapt from a package directory (DIR/WAPT/control), signing it when a key is given; prints its path",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			o := pkgfile.BuildOptions{OutDir: outDir, Now: env.Now()}
			if keyPath != "" || certPath != "" {
				key, chain, err := loadKeyPair(env, keyPath, certPath)
				if err != nil {
					return err
				}
				o.Signer, o.Chain = key, chain
			}
			path, _, err := pkgfile.Build(cmd.Context(), args[0], o)
			if err != nil {
				return err
			}
			fmt.Fprintln(env.Stdout, path)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&outDir, "output", "o", "", "output directory (default: the parent of DIR)")
	f.StringVar(&keyPath, "key", "", "private key to sign with")
	f.StringVar(&certPath, "cert", "", "signer certificate (chain)")
	return cmd
}

func signPackageCmd(env *Env) *cobra.Command {
	var keyPath, certPath string
	cmd := &cobra.Command{
		Use:   "sign-package FILE.wapt --key K --cert C",
		Short: "Sign (or re-sign) a .wapt in place",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if keyPath == "" || certPath == "" {
				return usagef("sign-package: --key and --cert are required")
			}
			key, chain, err := loadKeyPair(env, keyPath, certPath)
			if err != nil {
				return err
			}
			c, err := pkgfile.Sign(cmd.Context(), args[0], key, chain, env.Now(), nil)
			if err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: %s %s signed by %s\n", args[0], c.Package(), c.Get("version"), chain[0].Subject.CommonName)
			return nil
		},
	}
	cmd.Flags().StringVar(&keyPath, "key", "", "private key to sign with")
	cmd.Flags().StringVar(&certPath, "cert", "", "signer certificate (chain)")
	return cmd
}

func verifyPackageCmd(env *Env) *cobra.Command {
	var trustDir string
	cmd := &cobra.Command{
		Use:   "verify-package FILE.wapt --trust DIR",
		Short: "Verify a package: signer chain to a certificate of DIR, dates, EKU, manifest, every member's hash",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if trustDir == "" {
				return usagef("verify-package: --trust DIR is required")
			}
			trust, err := signing.LoadTrustDir(trustDir)
			if err != nil {
				return err
			}
			p, err := pkgfile.Open(args[0], pkgfile.DefaultLimits())
			if err != nil {
				return err
			}
			defer p.Close()
			signer, err := p.Verify(cmd.Context(), trust, env.Now())
			if err != nil {
				return err
			}
			c := p.Control()
			fmt.Fprintf(env.Stdout, "OK %s: %s %s signed by %s (%s)\n", args[0], c.Package(), c.Get("version"),
				signer.Subject.CommonName, signing.Fingerprint(signer))
			return nil
		},
	}
	cmd.Flags().StringVar(&trustDir, "trust", "", "directory of trusted certificates (*.crt, *.pem)")
	return cmd
}

func scanPackagesCmd(env *Env) *cobra.Command {
	var keyPath, certPath, repo string
	var expires time.Duration
	cmd := &cobra.Command{
		Use:   "scan-packages DIR [--key K --cert C] [--expires 24h]",
		Short: "Write DIR/Packages, the index of DIR/*.wapt, and DIR/Packages.sig when a key is given",
		Args:  exactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			dir := args[0]
			if expires <= 0 {
				return usagef("scan-packages: --expires must be positive")
			}
			var (
				signer crypto.Signer
				chain  []*x509.Certificate
			)
			if keyPath != "" || certPath != "" {
				var err error
				if signer, chain, err = loadKeyPair(env, keyPath, certPath); err != nil {
					return err
				}
			}
			var prev *repoindex.Index
			if data, err := os.ReadFile(filepath.Join(dir, "Packages")); err == nil {
				if prev, err = repoindex.Parse(data, 1<<30); err != nil {
					fmt.Fprintf(env.Stderr, "warning: ignoring the existing index: %v\n", err)
					prev = nil
				}
			} else if !errors.Is(err, fs.ErrNotExist) {
				return err
			}
			now := env.Now()
			ix, rep, err := repoindex.Scan(cmd.Context(), dir, prev, repoindex.ScanOptions{
				Limits: pkgfile.DefaultLimits(),
				Now:    now,
				Logf:   func(format string, a ...any) { fmt.Fprintf(env.Stderr, format+"\n", a...) },
			})
			if err != nil {
				return err
			}
			for name, e := range rep.Errors {
				fmt.Fprintf(env.Stderr, "skipped %s: %v\n", name, e)
			}
			var info *repoindex.SigInfo
			if signer != nil {
				info = &repoindex.SigInfo{
					Repo:    repo,
					Version: nextIndexVersion(filepath.Join(dir, "Packages.sig"), now),
					Issued:  now.UTC(),
					Expires: now.UTC().Add(expires),
				}
			} else if err := os.Remove(filepath.Join(dir, "Packages.sig")); err == nil {
				fmt.Fprintln(env.Stderr, "removed the stale Packages.sig (no --key given)")
			}
			if err := repoindex.WriteFiles(dir, ix, info, signer, chain); err != nil {
				return err
			}
			fmt.Fprintf(env.Stdout, "%s: %d packages (%d read, %d unchanged, %d skipped)\n",
				filepath.Join(dir, "Packages"), len(ix.Entries), len(rep.Processed), len(rep.Kept), len(rep.Errors))
			if info != nil {
				fmt.Fprintf(env.Stdout, "%s: version %d, expires %s\n", filepath.Join(dir, "Packages.sig"), info.Version, info.Expires.Format(time.RFC3339))
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&keyPath, "key", "", "repository private key (create-keycert --repo): signs Packages.sig")
	f.StringVar(&certPath, "cert", "", "repository certificate (chain)")
	f.DurationVar(&expires, "expires", 24*time.Hour, "validity of Packages.sig (agents refuse an expired index)")
	f.StringVar(&repo, "repo", "wapt", "repository name recorded in Packages.sig")
	return cmd
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// nextIndexVersion returns a version above the one in the existing
// Packages.sig (agents refuse lower ones), and at least the Unix time so that
// a lost signature file does not restart the count.
func nextIndexVersion(sigPath string, now time.Time) int64 {
	v := now.Unix()
	if data, err := os.ReadFile(sigPath); err == nil {
		var old struct {
			Version int64 `json:"version"`
		}
		if json.Unmarshal(data, &old) == nil && old.Version >= v {
			v = old.Version + 1
		}
	}
	return v
}
