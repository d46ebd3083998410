package storage

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// maxNameLen is MySQL's identifier length limit, in characters.
const maxNameLen = 64

// validateName reports whether name can be used as a database, table or
// detector name. Names become directory or file names on disk, so anything
// that could escape its parent directory, hide itself, or collide with the
// store's own temporary files is rejected: empty names, "." and "..",
// names starting with '.', names containing '/', '\\', NUL or other control
// characters, names with leading or trailing spaces, invalid UTF-8, and names
// longer than 64 characters.
func validateName(kind, name string) error {
	bad := func(why string) error {
		return fmt.Errorf("%w: %s name %q %s", ErrInvalidName, kind, name, why)
	}
	switch {
	case name == "":
		return bad("is empty")
	case !utf8.ValidString(name):
		return bad("is not valid UTF-8")
	case utf8.RuneCountInString(name) > maxNameLen:
		return bad(fmt.Sprintf("is longer than %d characters", maxNameLen))
	case strings.HasPrefix(name, "."):
		return bad("starts with '.'")
	case strings.TrimSpace(name) != name:
		return bad("has leading or trailing spaces")
	case strings.ContainsAny(name, `/\`):
		return bad("contains a path separator")
	}
	for _, r := range name {
		if unicode.IsControl(r) {
			return bad("contains a control character")
		}
	}
	return nil
}

// ValidateName returns nil if name can be a name of the given kind
// ("database", "table", "detector") in the store, or an error wrapping
// ErrInvalidName that says why (see validateName), so that callers can
// refuse a name before doing any work for it.
func ValidateName(kind, name string) error { return validateName(kind, name) }

// key is the case-insensitive lookup key of a name.
func key(name string) string { return strings.ToLower(name) }
