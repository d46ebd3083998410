package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is the value of a size flag (--max-allowed-packet): a number
// of bytes with an optional suffix K, M or G (powers of 1024, either
// case), as MySQL's command-line options take it.
type byteSize int64

// String implements flag.Value.
func (b *byteSize) String() string {
	if b == nil {
		return ""
	}
	n := int64(*b)
	for _, u := range []struct {
		suffix string
		shift  uint
	}{{"G", 30}, {"M", 20}, {"K", 10}} {
		if n != 0 && n%(1<<u.shift) == 0 {
			return strconv.FormatInt(n>>u.shift, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

// Set implements flag.Value.
func (b *byteSize) Set(s string) error {
	shift := uint(0)
	switch strings.ToUpper(s[len(s)-min(len(s), 1):]) {
	case "K":
		shift = 10
	case "M":
		shift = 20
	case "G":
		shift = 30
	}
	digits := s
	if shift > 0 {
		digits = s[:len(s)-1]
	}
	n, err := strconv.ParseInt(digits, 10, 64)
	if err != nil || n < 0 || n > (1<<62)>>shift {
		return fmt.Errorf("want a number of bytes, optionally with K, M or G")
	}
	*b = byteSize(n << shift)
	return nil
}
