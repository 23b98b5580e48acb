package opensearchstore

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/logcollect/logcollect/internal/search/query"
	"github.com/logcollect/logcollect/internal/search/store"
)

// UnsupportedError says a query form that OpenSearch cannot match with the meaning of
// docs/search.md (the API answers 400 naming q).
type UnsupportedError struct{ Msg string }

func (e *UnsupportedError) Error() string { return e.Msg }

// Unwrap makes errors.Is(err, store.ErrUnsupported) true.
func (e *UnsupportedError) Unwrap() error { return store.ErrUnsupported }

// maxPhrasePrefixExpansions bounds the words a multi-word prefix (a.b*) expands its last
// word into: match_phrase_prefix looks at that many, not all (docs/search.md).
const maxPhrasePrefixExpansions = 1024

// fixed are the document's own fields and their OpenSearch types.
var fixed = map[string]string{"host": "keyword", "path": "keyword", "topic": "keyword", "file_id": "keyword", "offset": "long"}

// fieldPaths maps a query's field name to the document paths that hold its values, with
// their types: the name itself (a parsed field), name.keyword (the keyword sub-field of a
// parsed number or text) and fields.name (the entry's fields).
type fieldPaths map[string][]typedPath

type typedPath struct{ path, typ string }

// compile turns a parsed query into an OpenSearch query. paths resolves field names.
func compile(n *query.Node, paths fieldPaths) (map[string]any, error) {
	switch n.Kind {
	case query.All:
		return map[string]any{"match_all": map[string]any{}}, nil
	case query.Text:
		return text(n)
	case query.Field:
		return field(n, paths)
	case query.Not:
		k, err := compile(n.Kids[0], paths)
		if err != nil {
			return nil, err
		}
		return map[string]any{"bool": map[string]any{"must_not": []any{k}}}, nil
	case query.And, query.Or:
		kids := make([]any, 0, len(n.Kids))
		for _, k := range n.Kids {
			c, err := compile(k, paths)
			if err != nil {
				return nil, err
			}
			kids = append(kids, c)
		}
		if n.Kind == query.And {
			return map[string]any{"bool": map[string]any{"filter": kids}}, nil
		}
		return map[string]any{"bool": map[string]any{"should": kids, "minimum_should_match": 1}}, nil
	}
	return nil, fmt.Errorf("query node of unknown kind %d", n.Kind)
}

// text matches the message, whose analyzer (logcollect_words in the index template)
// splits words exactly as query.Tokens does and lowercases them.
func text(n *query.Node) (map[string]any, error) {
	toks := query.Tokens(n.Value)
	switch {
	case len(toks) == 0:
		return map[string]any{"match_none": map[string]any{}}, nil
	case len(toks) == 1 && n.Prefix:
		return map[string]any{"prefix": map[string]any{"message": map[string]any{"value": toks[0].Word}}}, nil
	case len(toks) == 1:
		return map[string]any{"term": map[string]any{"message": toks[0].Word}}, nil
	case n.Prefix:
		return map[string]any{"match_phrase_prefix": map[string]any{"message": map[string]any{
			"query": n.Value, "max_expansions": maxPhrasePrefixExpansions}}}, nil
	}
	return map[string]any{"match_phrase": map[string]any{"message": n.Value}}, nil
}

// field matches a field's whole value, case-sensitively: term, prefix, wildcard or (a glob
// with a [class]) regexp over each keyword path of the name; numbers and booleans only
// by equal value.
func field(n *query.Node, paths fieldPaths) (map[string]any, error) {
	tps := paths[n.Name]
	if t, ok := fixed[n.Name]; ok {
		tps = []typedPath{{n.Name, t}}
	}
	var should []any
	var numeric []string
	hasKeyword := false
	for _, tp := range tps {
		if tp.typ == "keyword" {
			hasKeyword = true
		}
	}
	for _, tp := range tps {
		switch tp.typ {
		case "keyword", "constant_keyword", "wildcard":
			should = append(should, keywordQuery(tp.path, n))
		case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long":
			if hasKeyword {
				continue // its keyword sub-field matches the value as written
			}
			if n.Prefix || n.Glob {
				numeric = append(numeric, tp.path)
				continue
			}
			if _, err := strconv.ParseFloat(n.Value, 64); err == nil {
				should = append(should, map[string]any{"term": map[string]any{tp.path: n.Value}})
			}
		case "boolean":
			if !hasKeyword && (n.Value == "true" || n.Value == "false") && !n.Prefix && !n.Glob {
				should = append(should, map[string]any{"term": map[string]any{tp.path: n.Value}})
			}
		}
	}
	if len(numeric) > 0 && len(should) == 0 {
		return nil, &UnsupportedError{fmt.Sprintf("%s:%s: %s is a number in OpenSearch (%s) without a keyword sub-field, so only %s:<number> matches it; "+
			"indices created by a transfer of this version have %s.keyword", n.Name, nodeValue(n), n.Name, strings.Join(numeric, ", "), n.Name, n.Name)}
	}
	switch len(should) {
	case 0:
		return map[string]any{"match_none": map[string]any{}}, nil
	case 1:
		return should[0].(map[string]any), nil
	}
	return map[string]any{"bool": map[string]any{"should": should, "minimum_should_match": 1}}, nil
}

func nodeValue(n *query.Node) string {
	if n.Prefix {
		return n.Value + "*"
	}
	return n.Value
}

func keywordQuery(path string, n *query.Node) map[string]any {
	switch {
	case n.Glob && strings.Contains(n.Value, "["):
		return map[string]any{"regexp": map[string]any{path: map[string]any{"value": globRegexp(n.Value), "flags": "NONE"}}}
	case n.Glob:
		return map[string]any{"wildcard": map[string]any{path: map[string]any{"value": escapeWildcard(n.Value)}}}
	case n.Prefix:
		return map[string]any{"prefix": map[string]any{path: map[string]any{"value": n.Value}}}
	}
	return map[string]any{"term": map[string]any{path: n.Value}}
}

// escapeWildcard keeps * and ? and escapes the wildcard query's escape character.
func escapeWildcard(s string) string { return strings.ReplaceAll(s, `\`, `\\`) }

// globRegexp turns a glob with [classes] into a Lucene regular expression (anchored, as
// Lucene's are): * is .*, ? is ., a class stays a class, everything else is literal.
func globRegexp(g string) string {
	var b strings.Builder
	for i := 0; i < len(g); i++ {
		c := g[i]
		switch c {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteByte('.')
		case '[':
			if j := strings.IndexByte(g[i+2:], ']'); j >= 0 && i+2 <= len(g) {
				end := i + 2 + j
				b.WriteByte('[')
				for _, r := range g[i+1 : end] {
					if r == '\\' || r == '"' {
						b.WriteByte('\\')
					}
					b.WriteRune(r)
				}
				b.WriteByte(']')
				i = end
				continue
			}
			b.WriteString(`\[`)
		default:
			if strings.IndexByte(`.+{}()|"\#@&<>~[]^$`, c) >= 0 {
				b.WriteByte('\\')
			}
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fieldNames returns the names of the query's field terms that are not fixed fields.
func fieldNames(n *query.Node) []string {
	var out []string
	var walk func(n *query.Node)
	walk = func(n *query.Node) {
		if n.Kind == query.Field {
			if _, ok := fixed[n.Name]; !ok && !slices.Contains(out, n.Name) {
				out = append(out, n.Name)
			}
		}
		for _, k := range n.Kids {
			walk(k)
		}
	}
	walk(n)
	return out
}

// resolve finds, with one _field_caps request for the names not in the cache, the paths
// of each field name of the query in the indices searched.
func (s *Store) resolve(ctx context.Context, q *query.Node) (fieldPaths, error) {
	names := fieldNames(q)
	if len(names) == 0 {
		return nil, nil
	}
	now := time.Now()
	out, missing := s.fields.get(names, now)
	if len(missing) == 0 {
		return out, nil
	}
	var ask []string
	for _, n := range missing {
		ask = append(ask, n, n+".keyword", "fields."+n)
	}
	var resp struct {
		Fields map[string]map[string]json.RawMessage `json:"fields"`
	}
	path := "/" + s.pattern + "/_field_caps?ignore_unavailable=true&allow_no_indices=true&fields=" + url.QueryEscape(strings.Join(ask, ","))
	if err := s.do(ctx, "GET", path, nil, &resp); err != nil {
		return nil, err
	}
	for _, n := range missing {
		for _, p := range []string{n, n + ".keyword", "fields." + n} {
			for typ := range resp.Fields[p] {
				out[n] = append(out[n], typedPath{p, typ})
			}
		}
		slices.SortFunc(out[n], func(a, b typedPath) int { return strings.Compare(a.path+a.typ, b.path+b.typ) })
		s.fields.put(n, out[n], now)
	}
	return out, nil
}

// fieldCache keeps the paths _field_caps found per field name for fieldCacheTTL: a page's
// search and histogram, its facets and the next page ask for the same names, and a round
// trip each doubled the requests of a field:value query. A name without a path is not
// kept, so that a field a new index brings is found at once; a new type of a known field
// (a new daily index mapping it otherwise) is seen within the TTL.
type fieldCache struct {
	mu sync.Mutex
	m  map[string]cachedPaths
}

type cachedPaths struct {
	paths []typedPath
	at    time.Time
}

const (
	fieldCacheTTL = 10 * time.Second
	fieldCacheMax = 1024 // names; the map starts over beyond (field names come from queries)
)

// get returns the cached paths of names, and the names to ask for.
func (c *fieldCache) get(names []string, now time.Time) (fieldPaths, []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := fieldPaths{}
	var missing []string
	for _, n := range names {
		if e, ok := c.m[n]; ok && now.Sub(e.at) < fieldCacheTTL {
			out[n] = e.paths
			continue
		}
		missing = append(missing, n)
	}
	return out, missing
}

func (c *fieldCache) put(name string, paths []typedPath, now time.Time) {
	if len(paths) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= fieldCacheMax {
		c.m = map[string]cachedPaths{}
	}
	c.m[name] = cachedPaths{paths: paths, at: now}
}
