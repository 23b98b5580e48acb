package sqlitestore

import (
	"strconv"
	"strings"

	"github.com/logcollect/logcollect/internal/search"
)

// plan is a query compiled for one id range of a day: an FTS5 expression that drives the
// scan when the query has words at its top level, and SQL conditions on logs (alias l)
// for the rest.
type plan struct {
	match string // "" when the scan goes over logs by id
	where []string
	args  []any
}

// compile turns q into a plan for ids in [lo, hi).
func compile(q *search.Node, lo, hi int64) plan {
	var conj []*search.Node
	switch q.Kind {
	case search.All:
	case search.And:
		conj = q.Kids
	default:
		conj = []*search.Node{q}
	}
	var pos, neg []string
	var p plan
	for _, n := range conj {
		if e, ok := ftsExpr(n); ok {
			pos = append(pos, e)
			continue
		}
		if e, ok := phraseWords(n); ok {
			// A phrase at the top: the index finds the lines with all its words, the
			// phrase check keeps those with the words in order.
			pos = append(pos, e)
			w, args := phraseCheck(n)
			p.where = append(p.where, w)
			p.args = append(p.args, args...)
			continue
		}
		if n.Kind == search.Not {
			if e, ok := ftsExpr(n.Kids[0]); ok {
				neg = append(neg, e)
				continue
			}
		}
		w, args := sqlCond(n, lo, hi)
		p.where = append(p.where, w)
		p.args = append(p.args, args...)
	}
	if len(pos) > 0 {
		p.match = joinFTS(pos, neg)
	} else {
		for _, e := range neg {
			p.where = append(p.where, "l.id NOT IN (SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid < ?)")
			p.args = append(p.args, e, lo, hi)
		}
	}
	return p
}

func joinFTS(pos, neg []string) string {
	e := strings.Join(pos, " AND ")
	if len(pos) > 1 && len(neg) > 0 {
		e = "(" + e + ")"
	}
	for _, n := range neg {
		e += " NOT " + n
	}
	return e
}

// ftsExpr returns n as an exact FTS5 query when n has only words (positive somewhere)
// and no phrase of several words: the index keeps no word positions (detail=none), so a
// phrase is its words ANDed (phraseWords) and a check of the line (phraseCheck).
func ftsExpr(n *search.Node) (string, bool) {
	switch n.Kind {
	case search.Text:
		words := textWords(n)
		if len(words) != 1 {
			return "", false
		}
		return words[0], true
	case search.Or:
		parts := make([]string, len(n.Kids))
		for i, k := range n.Kids {
			e, ok := ftsExpr(k)
			if !ok {
				return "", false
			}
			parts[i] = e
		}
		return "(" + strings.Join(parts, " OR ") + ")", true
	case search.And:
		var pos, neg []string
		for _, k := range n.Kids {
			if e, ok := ftsExpr(k); ok {
				pos = append(pos, e)
				continue
			}
			if k.Kind == search.Not {
				if e, ok := ftsExpr(k.Kids[0]); ok {
					neg = append(neg, e)
					continue
				}
			}
			return "", false
		}
		if len(pos) == 0 {
			return "", false
		}
		return "(" + joinFTS(pos, neg) + ")", true
	}
	return "", false
}

// textWords returns a text node's words as FTS5 strings, the last one a prefix query
// when the node is a prefix.
func textWords(n *search.Node) []string {
	toks := search.Tokens(n.Value)
	words := make([]string, len(toks))
	for i, t := range toks {
		words[i] = `"` + t.Word + `"`
	}
	if n.Prefix && len(words) > 0 {
		words[len(words)-1] += "*"
	}
	return words
}

// phraseWords returns a phrase of several words as the FTS5 query of all its words.
func phraseWords(n *search.Node) (string, bool) {
	if n.Kind != search.Text {
		return "", false
	}
	words := textWords(n)
	if len(words) < 2 {
		return "", false
	}
	return "(" + strings.Join(words, " AND ") + ")", true
}

// phraseCheck is the condition that a line's message holds the phrase n, in order
// (lc_phrase, registered by this package: search.HasPhrase).
func phraseCheck(n *search.Node) (string, []any) {
	prefix := 0
	if n.Prefix {
		prefix = 1
	}
	return "lc_phrase(l.msg, ?, ?)", []any{n.Value, prefix}
}

// sqlCond returns n as a condition on logs l for ids in [lo, hi).
func sqlCond(n *search.Node, lo, hi int64) (string, []any) {
	if e, ok := ftsExpr(n); ok {
		return "l.id IN (SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid < ?)", []any{e, lo, hi}
	}
	if e, ok := phraseWords(n); ok {
		w, args := phraseCheck(n)
		return "(l.id IN (SELECT rowid FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid < ?) AND " + w + ")",
			append([]any{e, lo, hi}, args...)
	}
	switch n.Kind {
	case search.All:
		return "1", nil
	case search.Field:
		col := fieldColumn(n.Name)
		var args []any
		if col == "" {
			col = "json_extract(l.fields, ?)"
			args = append(args, `$."`+strings.ReplaceAll(n.Name, `"`, ``)+`"`)
		}
		switch {
		case n.Glob:
			return col + " GLOB ?", append(args, n.Value)
		case n.Prefix:
			return col + " GLOB ?", append(args, globEscape(n.Value)+"*")
		default:
			return col + " = ?", append(args, n.Value)
		}
	case search.Not:
		w, args := sqlCond(n.Kids[0], lo, hi)
		return "NOT (" + w + ")", args
	case search.And, search.Or:
		op := " AND "
		if n.Kind == search.Or {
			op = " OR "
		}
		parts := make([]string, len(n.Kids))
		var args []any
		for i, k := range n.Kids {
			w, a := sqlCond(k, lo, hi)
			parts[i] = w
			args = append(args, a...)
		}
		return "(" + strings.Join(parts, op) + ")", args
	}
	// Text is handled by ftsExpr or phraseWords; nothing else exists.
	return "0", nil
}

func fieldColumn(name string) string {
	switch name {
	case "host", "path", "topic", "file_id":
		return "l." + name
	case "offset":
		return "l.off"
	}
	return ""
}

// globEscape quotes GLOB's special characters.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[':
			b.WriteString("[" + string(r) + "]")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

const rowCols = "l.id, l.ts, l.host, l.path, l.topic, l.file_id, l.off, l.fields, l.msg"

// selectSQL builds the statement for rows of [lo, hi) matching p, newest first when
// desc, with the given columns (or count(*) when count).
func (p plan) selectSQL(cols string, lo, hi int64, desc bool, limit int) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString("SELECT " + cols)
	if p.match != "" {
		b.WriteString(" FROM fts JOIN logs l ON l.id = fts.rowid WHERE fts MATCH ? AND fts.rowid >= ? AND fts.rowid < ?")
		args = append(args, p.match, lo, hi)
	} else {
		b.WriteString(" FROM logs l WHERE l.id >= ? AND l.id < ?")
		args = append(args, lo, hi)
	}
	for _, w := range p.where {
		b.WriteString(" AND " + w)
	}
	args = append(args, p.args...)
	if limit > 0 {
		idCol := "l.id"
		if p.match != "" {
			idCol = "fts.rowid"
		}
		dir := " ASC"
		if desc {
			dir = " DESC"
		}
		b.WriteString(" ORDER BY " + idCol + dir + " LIMIT " + strconv.Itoa(limit))
	}
	return b.String(), args
}

// countSQL counts rows of [lo, hi) matching p.
func (p plan) countSQL(lo, hi int64) (string, []any) {
	if p.match != "" && len(p.where) == 0 {
		return "SELECT count(*) FROM fts WHERE fts MATCH ? AND rowid >= ? AND rowid < ?", []any{p.match, lo, hi}
	}
	return p.selectSQL("count(*)", lo, hi, false, 0)
}
