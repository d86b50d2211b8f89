// Package repoindex builds, parses and signs a repository's package index:
// the WAPT-compatible "Packages" ZIP file and our "Packages.sig" companion.
//
// # Packages (WAPT format)
//
// Packages is a ZIP archive holding one member named "Packages": the control
// blocks of every package in the repository (control.Format layout), each
// followed by the index attributes filename, size, md5sum (WAPT) and sha256
// (ours), separated by a blank line. Signer certificates are stored as
// ssl/<hex sha256 of DER>.crt (PEM) members; crl/* members are ignored. WAPT
// agents read it unchanged; Parse reads indexes written by WAPT.
//
// # Packages.sig (ours)
//
// Packages.sig is a JSON object signed by the repository key:
//
//	{"repo": "...", "version": 42, "issued": "2025-01-02T03:04:05Z",
//	 "expires": "...", "sha256": "<hex of the Packages bytes>", "size": 1234,
//	 "signer_chain": ["-----BEGIN CERTIFICATE-----...", ...],
//	 "signature": "<base64>"}
//
// The signature is signing.Sign over signing.CanonicalJSON of the six info
// fields (repo, version, issued, expires, sha256, size; times as RFC 3339 UTC
// strings, exactly as they appear in the file). VerifyIndex closes the attacks
// WAPT leaves open: rollback (version lower than one already seen), freeze
// (expired), mix-and-match (index bytes must match sha256 and size) and
// another repository's index (repo name).
//
// # Incremental scan
//
// Scan keeps a sidecar cache, DIR/.Packages.cache.json, mapping each package
// file name to {size, mtime_unix_nano, md5, sha256} (plus the fingerprints
// of its certificate chain, whether it has a setup.py and whether it is a host
// package). A file whose size and modification time equal the cached ones,
// and whose entry in the previous index carries the cached size and hashes,
// is kept without being opened. Any other file is read fully once: the
// control data through pkgfile's strict parser, then md5 and sha256 in one
// pass. Files modified less than two seconds before the scan started are
// not cached (their mtime could still change within the same clock tick), so
// they are read again on the next scan. The cache only saves work: deleting it
// forces a full scan, and a stale or corrupt cache is ignored.
package repoindex

import "errors"

// Sentinel errors. Errors returned by this package wrap one of these (and,
// for signature problems, the signing package's sentinels too).
var (
	ErrBadIndex       = errors.New("bad Packages index")
	ErrIndexSignature = errors.New("bad Packages.sig")
	ErrRollback       = errors.New("index version lower than one already seen")
	ErrExpiredIndex   = errors.New("index expired")
)

// DefaultMaxSize is the ZIP size limit Parse applies when given maxSize <= 0.
const DefaultMaxSize = 64 << 20
