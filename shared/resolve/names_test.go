package resolve

import (
	"slices"
	"testing"
)

func TestUnitPackageNames(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dn   string
		want []string
	}{
		{"CN=h,OU=a,OU=b,DC=x,DC=y", []string{"OU=a,OU=b,DC=x,DC=y", "OU=b,DC=x,DC=y", "DC=x,DC=y"}},
		{"CN=PC1,OU=room1,OU=prod,DC=example,DC=lan", []string{
			"OU=room1,OU=prod,DC=example,DC=lan", "OU=prod,DC=example,DC=lan", "DC=example,DC=lan",
		}},
		{"cn=h, ou=a , dc = x,dc=y", []string{"ou=a,dc=x,dc=y", "dc=x,dc=y"}},
		{"CN=h,DC=x,DC=y", []string{"DC=x,DC=y"}},
		{"CN=h,OU=a,DC=lan", []string{"OU=a,DC=lan", "DC=lan"}},
		{"OU=a,OU=b,DC=x,DC=y", []string{"OU=a,OU=b,DC=x,DC=y", "OU=b,DC=x,DC=y", "DC=x,DC=y"}},
		{`CN=h,OU=Sales\, Paris,DC=x,DC=y`, []string{`OU=Sales\, Paris,DC=x,DC=y`, "DC=x,DC=y"}},
		{"CN=h,OU=a,CN=Computers,DC=x", []string{"OU=a,CN=Computers,DC=x", "CN=Computers,DC=x", "DC=x"}},
		{"CN=h", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.dn, func(t *testing.T) {
			t.Parallel()
			if got := UnitPackageNames(tt.dn); !slices.Equal(got, tt.want) {
				t.Errorf("UnitPackageNames(%q) = %q, want %q", tt.dn, got, tt.want)
			}
		})
	}
}

func TestValidPackageName(t *testing.T) {
	t.Parallel()
	tests := []struct{ in, want string }{
		{"OU=room1,OU=prod,DC=example,DC=lan", "OU=room1_OU=prod_DC=example_DC=lan"},
		{"Domain Admins", "Domain~Admins"},
		{"compta", "compta"},
		{"é-t_é.~(x)!", "é-t_é.~x"},
	}
	for _, tt := range tests {
		if got := ValidPackageName(tt.in); got != tt.want {
			t.Errorf("ValidPackageName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
