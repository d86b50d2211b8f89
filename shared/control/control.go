// Package control parses, validates and formats WAPT control files: the
// "key: value" metadata of a package (WAPT/control) and of each block of a
// repository Packages index.
package control

import "strings"

// Control is an ordered set of control attributes. Keys are lowercase; the
// order of first appearance is kept so unknown keys survive a round trip.
// The zero value is an empty, usable Control.
type Control struct {
	keys []string
	vals map[string]string
	// file and line record where the control was parsed from, for errors.
	file string
	line int
}

// New returns an empty Control.
func New() *Control { return &Control{vals: map[string]string{}} }

// Get returns the value of key ("" when absent). Keys are case-insensitive.
func (c *Control) Get(key string) string {
	if c == nil || c.vals == nil {
		return ""
	}
	return c.vals[strings.ToLower(key)]
}

// Has reports whether key is present (even with an empty value).
func (c *Control) Has(key string) bool {
	if c == nil || c.vals == nil {
		return false
	}
	_, ok := c.vals[strings.ToLower(key)]
	return ok
}

// Set sets key to value, appending the key when it is new.
func (c *Control) Set(key, value string) {
	key = strings.ToLower(key)
	if c.vals == nil {
		c.vals = map[string]string{}
	}
	if _, ok := c.vals[key]; !ok {
		c.keys = append(c.keys, key)
	}
	c.vals[key] = value
}

// Del removes key.
func (c *Control) Del(key string) {
	if c == nil {
		return
	}
	key = strings.ToLower(key)
	if _, ok := c.vals[key]; !ok {
		return
	}
	delete(c.vals, key)
	for i, k := range c.keys {
		if k == key {
			c.keys = append(c.keys[:i:i], c.keys[i+1:]...)
			break
		}
	}
}

// Keys returns the keys in order of first appearance.
func (c *Control) Keys() []string {
	if c == nil {
		return nil
	}
	return append([]string(nil), c.keys...)
}

// Clone returns a deep copy.
func (c *Control) Clone() *Control {
	n := New()
	if c == nil {
		return n
	}
	for _, k := range c.keys {
		n.Set(k, c.vals[k])
	}
	n.file, n.line = c.file, c.line
	return n
}

// Package returns the package name.
func (c *Control) Package() string { return c.Get("package") }
