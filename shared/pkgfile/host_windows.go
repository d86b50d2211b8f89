package pkgfile

// hostUnsafe rejects names that Windows maps to devices.
func hostUnsafe(name string) error {
	if seg, ok := reservedName(name); ok {
		return unsafef("member %q: %q is a Windows device name", name, seg)
	}
	return nil
}
