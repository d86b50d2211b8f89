//go:build !windows

package cli

const defaultConfigPath = "/opt/wapt/wapt-get.ini"
