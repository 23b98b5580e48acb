package etcdconf

import (
	"regexp"
	"strings"
)

// Vars are the values of the placeholders in etcd.collect_keys.
type Vars struct {
	IP       string // address of the interface used to reach etcd
	Hostname string
	ID       string // agent.id
}

// ExpandKeys replaces {ip}, {hostname} and {id} in each key. The order is kept: it is the
// order of precedence (a later key wins for the same path). A key that expands to the same
// text as an earlier one is dropped.
func ExpandKeys(keys []string, v Vars) []string {
	r := strings.NewReplacer("{ip}", v.IP, "{hostname}", v.Hostname, "{id}", v.ID)
	out := make([]string, 0, len(keys))
	seen := make(map[string]bool, len(keys))
	for _, k := range keys {
		x := r.Replace(k)
		if seen[x] {
			continue
		}
		seen[x] = true
		out = append(out, x)
	}
	return out
}

var placeholder = regexp.MustCompile(`\{(ip|hostname|id)\}`)

// KeyPattern is a collect key template such as "collect_log_{ip}_conf" used to find the
// collect keys present in etcd for any host (logcollect ctl keys).
type KeyPattern struct {
	// Prefix is the literal text before the first placeholder: the etcd range to list.
	Prefix string
	re     *regexp.Regexp
	exact  bool
}

// NewKeyPattern compiles a key template; each placeholder matches one or more characters
// other than "/".
func NewKeyPattern(tmpl string) KeyPattern {
	locs := placeholder.FindAllStringIndex(tmpl, -1)
	if len(locs) == 0 {
		return KeyPattern{Prefix: tmpl, exact: true}
	}
	var b strings.Builder
	b.WriteString("^")
	last := 0
	for _, l := range locs {
		b.WriteString(regexp.QuoteMeta(tmpl[last:l[0]]))
		b.WriteString(`[^/]+`)
		last = l[1]
	}
	b.WriteString(regexp.QuoteMeta(tmpl[last:]))
	b.WriteString("$")
	return KeyPattern{Prefix: tmpl[:locs[0][0]], re: regexp.MustCompile(b.String())}
}

// Exact reports whether the template has no placeholder (it names one key).
func (p KeyPattern) Exact() bool { return p.exact }

// Match reports whether key is an expansion of the template.
func (p KeyPattern) Match(key string) bool {
	if p.exact {
		return key == p.Prefix
	}
	return p.re.MatchString(key)
}
