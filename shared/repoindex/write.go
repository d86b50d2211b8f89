package repoindex

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/wapt-go/wapt/shared/atomicfile"
)

// File names WriteFiles writes in the repository directory.
const (
	PackagesFile = "Packages"
	SigFile      = "Packages.sig"
)

// WriteFiles writes DIR/Packages (ix.Marshal) atomically: a temp file in
// DIR, synced, then renamed. With info and signer set it then writes
// DIR/Packages.sig the same way (SignIndex; info.SHA256 and info.Size are set
// from the bytes written, so leave them empty). With info nil the index is
// unsigned and a Packages.sig left from before is removed, since it could
// never match the new index. Between the two renames a reader may see the
// new Packages with the old Packages.sig: verification then fails on the
// size/sha256 check and the reader retries later.
func WriteFiles(dir string, ix *Index, info *SigInfo, signer crypto.Signer, chain []*x509.Certificate) error {
	if info != nil && signer == nil {
		return errors.New("write index: SigInfo given without a signer")
	}
	data, err := ix.Marshal()
	if err != nil {
		return err
	}
	var sig []byte
	if info != nil {
		info.SHA256, info.Size = "", 0
		if sig, err = SignIndex(data, *info, signer, chain); err != nil {
			return err
		}
		info.SHA256, info.Size = sha256Hex(data), int64(len(data))
	}
	if err := atomicfile.WriteFile(filepath.Join(dir, PackagesFile), data, 0o644); err != nil {
		return err
	}
	sigPath := filepath.Join(dir, SigFile)
	if info == nil {
		if err := os.Remove(sigPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("write index: %w", err)
		}
		return nil
	}
	return atomicfile.WriteFile(sigPath, sig, 0o644)
}
