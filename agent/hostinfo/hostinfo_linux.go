package hostinfo

import (
	"bufio"
	"os"
	"strings"
)

func osVersion() string {
	f, err := os.Open("/etc/os-release")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VERSION_ID="); ok {
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

func systemUUID() string {
	b, err := os.ReadFile("/sys/class/dmi/id/product_uuid") // root only
	if err != nil {
		return ""
	}
	return string(b)
}
