//go:build !windows

package config

const defaultBaseDir = "/opt/wapt"
