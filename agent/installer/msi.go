package installer

// MsiUninstallCommand is the silent msiexec command line removing a product.
func MsiUninstallCommand(productCode string) []string {
	return []string{"msiexec", "/norestart", "/q", "/x", productCode}
}
