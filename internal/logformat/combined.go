package logformat

import (
	"strings"
	"unsafe"
)

// submatch is the regexp's submatch indices of line for p's pattern, nil when the line
// does not match it; m may hold them (a caller's array keeps them off the heap).
func submatch[T string | []byte](p *Parser, line T, m []int) []int {
	switch p.format {
	case NginxCombined:
		return combinedIndex(asString(line), false, m)
	case ApacheCombined:
		return combinedIndex(asString(line), true, m)
	}
	switch l := any(line).(type) {
	case string:
		return p.re.FindStringSubmatchIndex(l)
	case []byte:
		return p.re.FindSubmatchIndex(l)
	}
	return nil
}

// asString is line as a string, without a copy for []byte: the matcher only reads it
// during the call.
func asString[T string | []byte](line T) string {
	switch l := any(line).(type) {
	case []byte:
		return unsafe.String(unsafe.SliceData(l), len(l))
	case string:
		return l
	}
	return ""
}

// combinedIndex matches line against the nginx (apache false) or apache combined
// pattern (nginxCombined, apacheCombined) and returns the submatch indices that
// regexp's FindSubmatchIndex returns for it (into m, reused), nil when the line does
// not match. Why by hand: the regexp took 1.6 µs per access-log line, and it runs for
// every line of an nginx_combined entry whose fields are read (a `status:503` search
// counts every candidate line; the transfer's parse rules) or whose time has a layout,
// where this takes 0.13 µs (docs/store.md). FuzzCombined checks it against the regexp.
//
// Each step is the only choice the regexp's leftmost-first match can make: a run of
// \S (or [^"], [^\]], \d) is taken whole because what must follow it is a byte the run
// cannot hold, so no shorter run lets the pattern go on.
func combinedIndex(line string, apache bool, m []int) []int {
	groups := 8 // remote_addr, remote_user, time_local, request, status, body_bytes_sent, http_referer, http_user_agent
	if apache {
		groups = 9 // with ident after remote_addr
	}
	if size := 2 * (groups + 1); cap(m) >= size {
		m = m[:size] // every group is set on a match
	} else {
		m = make([]int, size)
	}
	n := len(line)
	g := 1
	take := func(from, to int) {
		m[2*g], m[2*g+1] = from, to
		g++
	}
	// nonSpace is the end of the run of \S ([^\t\n\f\r ]) from i.
	nonSpace := func(i int) int {
		for i < n && !isRegexpSpace(line[i]) {
			i++
		}
		return i
	}
	// upTo is the index of the first c at or after i (≤ n), or -1. IndexByte, not a loop:
	// the request, referer and user agent are most of the line, and the store parses
	// the status of every access line it writes (its column).
	upTo := func(i int, c byte) int {
		if k := strings.IndexByte(line[i:], c); k >= 0 {
			return i + k
		}
		return -1
	}
	// lit says whether s is at i.
	lit := func(i int, s string) bool { return strings.HasPrefix(line[i:], s) }

	i := 0
	// word takes the run of \S after the literal sep at i, which must not be empty.
	word := func(sep string) bool {
		if !lit(i, sep) {
			return false
		}
		end := nonSpace(i + len(sep))
		if end == i+len(sep) {
			return false
		}
		take(i+len(sep), end)
		i = end
		return true
	}
	// quoted takes the run of [^"] after the literal sep at i, up to the '"' that must
	// end it.
	quoted := func(sep string) bool {
		if !lit(i, sep) {
			return false
		}
		end := upTo(i+len(sep), '"')
		if end < 0 {
			return false
		}
		take(i+len(sep), end)
		i = end
		return true
	}
	seps := []string{"", " - "} // remote_addr, remote_user
	if apache {
		seps = []string{"", " ", " "} // remote_addr, ident, remote_user
	}
	for _, sep := range seps {
		if !word(sep) {
			return nil
		}
	}
	if !lit(i, " [") {
		return nil
	}
	end := upTo(i+2, ']')
	if end <= i+2 { // none, or empty: [^\]]+
		return nil
	}
	take(i+2, end)
	i = end
	if !quoted(`] "`) { // request
		return nil
	}
	if !lit(i, `" `) || n-i < 6 || !isDigit(line[i+2]) || !isDigit(line[i+3]) || !isDigit(line[i+4]) || line[i+5] != ' ' {
		return nil
	}
	take(i+2, i+5)
	i += 6
	switch {
	case i < n && isDigit(line[i]):
		end = i + 1
		for end < n && isDigit(line[end]) {
			end++
		}
	case i < n && line[i] == '-':
		end = i + 1
	default:
		return nil
	}
	take(i, end)
	i = end
	if !quoted(` "`) || !quoted(`" "`) { // http_referer, http_user_agent
		return nil
	}
	m[0], m[1] = 0, i+1
	return m
}

// isRegexpSpace is regexp's \s: [\t\n\f\r ].
func isRegexpSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
