package logformat

// submatch is the regexp's submatch indices of line for p's pattern, nil when the line
// does not match it; m may hold them (a caller's array keeps them off the heap).
func submatch[T string | []byte](p *Parser, line T, m []int) []int {
	switch p.format {
	case NginxCombined:
		return combinedIndex(line, false, m)
	case ApacheCombined:
		return combinedIndex(line, true, m)
	}
	switch l := any(line).(type) {
	case string:
		return p.re.FindStringSubmatchIndex(l)
	case []byte:
		return p.re.FindSubmatchIndex(l)
	}
	return nil
}

// combinedIndex matches line against the nginx (apache false) or apache combined
// pattern (nginxCombined, apacheCombined) and returns the submatch indices that
// regexp's FindSubmatchIndex returns for it (into m, reused), nil when the line does
// not match. Why by hand: the regexp took 1.7 µs per access-log line, and it runs for
// every line of an nginx_combined entry twice — in the agent for the line's time, and
// when the line's fields are read (a `status:503` search parses every candidate line) —
// where this takes a tenth (docs/store.md). FuzzCombined checks it against the regexp.
//
// Each step is the only choice the regexp's leftmost-first match can make: a run of
// \S (or [^"], [^\]], \d) is taken whole because what must follow it is a byte the run
// cannot hold, so no shorter run lets the pattern go on.
func combinedIndex[T string | []byte](line T, apache bool, m []int) []int {
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
	// upTo is the index of the first c at or after i, or -1.
	upTo := func(i int, c byte) int {
		for ; i < n; i++ {
			if line[i] == c {
				return i
			}
		}
		return -1
	}
	// lit says whether s is at i.
	lit := func(i int, s string) bool {
		if n-i < len(s) {
			return false
		}
		for k := range len(s) {
			if line[i+k] != s[k] {
				return false
			}
		}
		return true
	}

	end := nonSpace(0)
	if end == 0 {
		return nil
	}
	take(0, end)
	i := end
	if apache {
		for range 2 { // ident, remote_user
			if !lit(i, " ") {
				return nil
			}
			end = nonSpace(i + 1)
			if end == i+1 {
				return nil
			}
			take(i+1, end)
			i = end
		}
	} else {
		if !lit(i, " - ") {
			return nil
		}
		end = nonSpace(i + 3)
		if end == i+3 {
			return nil
		}
		take(i+3, end)
		i = end
	}
	if !lit(i, " [") {
		return nil
	}
	end = upTo(i+2, ']')
	if end <= i+2 { // none, or empty: [^\]]+
		return nil
	}
	take(i+2, end)
	i = end
	if !lit(i, `] "`) {
		return nil
	}
	if end = upTo(i+3, '"'); end < 0 {
		return nil
	}
	take(i+3, end)
	i = end
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
	if !lit(i, ` "`) {
		return nil
	}
	if end = upTo(i+2, '"'); end < 0 {
		return nil
	}
	take(i+2, end)
	i = end
	if !lit(i, `" "`) {
		return nil
	}
	if end = upTo(i+3, '"'); end < 0 {
		return nil
	}
	take(i+3, end)
	m[0], m[1] = 0, end+1
	return m
}

// isRegexpSpace is regexp's \s: [\t\n\f\r ].
func isRegexpSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r' }
