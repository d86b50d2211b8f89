package inventory

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxPlistKeys bounds the values kept from one plist.
const maxPlistKeys = 4096

// errBinaryPlist is returned by parsePlist for a binary ("bplist00") plist.
var errBinaryPlist = errors.New("binary plist")

// parsePlist reads the top-level dictionary of an XML property list
// (Info.plist) and returns its string, integer and real values by key;
// nested dictionaries, arrays and other values are skipped. Input is bounded
// to maxFileSize bytes and maxPlistKeys values. A binary plist gives
// errBinaryPlist.
func parsePlist(data []byte) (map[string]string, error) {
	if len(data) > maxFileSize {
		return nil, fmt.Errorf("plist larger than %d bytes", maxFileSize)
	}
	if bytes.HasPrefix(data, []byte("bplist")) {
		return nil, errBinaryPlist
	}
	d := xml.NewDecoder(bytes.NewReader(data))
	// Find <plist><dict>.
	inPlist := false
findDict:
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, plistErr(err)
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		switch {
		case !inPlist && se.Name.Local == "plist":
			inPlist = true
		case inPlist && se.Name.Local == "dict":
			break findDict
		default:
			return nil, fmt.Errorf("plist: unexpected <%s>", se.Name.Local)
		}
	}
	m := map[string]string{}
	key := ""
	for {
		tok, err := d.Token()
		if err != nil {
			return nil, plistErr(err)
		}
		switch t := tok.(type) {
		case xml.EndElement: // </dict> of the top-level dictionary
			return m, nil
		case xml.StartElement:
			switch t.Name.Local {
			case "key":
				if key, err = plistText(d); err != nil {
					return nil, err
				}
				continue
			case "string", "integer", "real":
				v, err := plistText(d)
				if err != nil {
					return nil, err
				}
				if _, dup := m[key]; !dup && key != "" && len(m) < maxPlistKeys {
					m[key] = v
				}
			default: // dict, array, data, date, true, false
				if err := d.Skip(); err != nil {
					return nil, plistErr(err)
				}
			}
			key = ""
		}
	}
}

// plistText reads the character data of the element just opened, up to
// its end; a nested element is an error.
func plistText(d *xml.Decoder) (string, error) {
	var b strings.Builder
	for {
		tok, err := d.Token()
		if err != nil {
			return "", plistErr(err)
		}
		switch t := tok.(type) {
		case xml.CharData:
			if b.Len()+len(t) > maxFileSize {
				return "", errors.New("plist: value too long")
			}
			b.Write(t)
		case xml.EndElement:
			return b.String(), nil
		case xml.StartElement:
			return "", fmt.Errorf("plist: unexpected <%s> in a value", t.Name.Local)
		}
	}
}

func plistErr(err error) error {
	if errors.Is(err, io.EOF) {
		return errors.New("plist: unexpected end")
	}
	return fmt.Errorf("plist: %w", err)
}
