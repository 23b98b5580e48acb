package sqlitestore

import (
	"encoding/binary"
	"fmt"
	"strings"

	"github.com/logcollect/logcollect/internal/search/query"
)

// plan is a query compiled for the blocks of a day: the index and block conditions only
// narrow the candidate blocks (a superset of those holding a matching line); every line
// of a candidate is then checked by the matcher, which decides.
type plan struct {
	match string // an FTS5 expression over the blocks' words; "" when the scan goes over blocks by id
	where []string
	args  []any
	m     *query.Matcher
	// phrases are the query's phrases of numbers every matching line holds
	// (query.DigitPhrases): the index has their words, not their order; pairs are the
	// hashes of their adjacent numbers (phrasePairs), which a block's pair filter must
	// hold (pairs.go): blocksSQL rules the others out in SQL. nil: none.
	phrases []query.DigitPhrase
	pairs   []byte
	// ids, for a day whose pair filters are in groups (pairgroups.go), are blocks that
	// may hold the pairs, at most idsPerRead of them (part.eachQuery): blocksSQL
	// selects among them instead of testing each block's filter. nil: no such bound.
	ids []int64
	// listed, when set, are the day's candidate blocks for [from, to), ascending, listed
	// already with every condition of the plan (part.candidates, for a first page and its
	// histogram: Store.FirstPage): the page's search reads them a few at a time as ids
	// (part.search, readAhead), and blocksSQL applies none of the plan's conditions to
	// them again.
	listed []int64
	// nums are the numberHash and prefixHash of the numbers and digit prefixes every
	// matching line holds (numberTerms), 8 bytes each: not words of the index, they
	// rule out blocks by their filter in SQL (mayHoldFunc). nil: none. numWords are
	// those numbers and prefixes, which rule out a block the filter let through before
	// its body is joined (codec.inflate).
	nums     []byte
	numWords [][]byte
	// cols are the field columns the query names (columns.go): the scan joins them.
	// colsOnly: the query matches a line on those and its block's own fields alone.
	cols     []string
	colsOnly bool
}

// indexOnly says whether the index lists the plan's candidate blocks alone: its words,
// and no condition of a block's columns or filters.
func (p plan) indexOnly() bool {
	return p.match != "" && len(p.where) == 0 && len(p.nums) == 0 && len(p.pairs) == 0
}

// compile turns q into a plan.
func compile(q *query.Node) plan {
	p := plan{m: query.NewMatcher(q), phrases: query.DigitPhrases(q)}
	p.pairs = phrasePairs(p.phrases)
	p.nums, p.numWords = numberTerms(q)
	names, hasText := fieldNames(q, nil)
	p.cols, p.colsOnly = queryColumns(names, hasText)
	p.match, _ = ftsFilter(q)
	conj := []*query.Node{q}
	if q.Kind == query.And {
		conj = q.Kids
	}
	for _, n := range conj {
		// A field of the block's own (the same for all its lines) at the top level.
		if n.Kind != query.Field {
			continue
		}
		col := blockColumn(n.Name)
		if col == "" {
			continue
		}
		switch {
		case n.Glob:
			p.where = append(p.where, col+" GLOB ?")
			p.args = append(p.args, n.Value)
		case n.Prefix:
			p.where = append(p.where, col+" GLOB ?")
			p.args = append(p.args, globEscape(n.Value)+"*")
		default:
			p.where = append(p.where, col+" = ?")
			p.args = append(p.args, n.Value)
		}
	}
	return p
}

// fieldNames appends the names of q's field conditions to names, and says whether q
// has a condition on the message.
func fieldNames(q *query.Node, names []string) ([]string, bool) {
	text := q.Kind == query.Text
	if q.Kind == query.Field {
		names = append(names, q.Name)
	}
	for _, k := range q.Kids {
		var t bool
		names, t = fieldNames(k, names)
		text = text || t
	}
	return names, text
}

// ftsFilter returns an FTS5 expression true for every block holding a line that matches
// n, false when n gives no such expression (it does not narrow: NOT, fields, or an OR
// with such a term). A word is a word of the document, a prefix word a prefix query, a
// phrase all its words (the index has no positions; the matcher checks the order).
// Long numbers and digit prefixes are left out: they are not words of the index
// (indexWord).
func ftsFilter(n *query.Node) (string, bool) {
	switch n.Kind {
	case query.Text:
		toks := query.Tokens(n.Value)
		var words []string
		for i, t := range toks {
			prefix := n.Prefix && i == len(toks)-1
			if !indexWord(t.Word, prefix) {
				continue
			}
			w := `"` + t.Word + `"`
			if prefix {
				w += "*"
			}
			words = append(words, w)
		}
		switch len(words) {
		case 0:
			return "", false
		case 1:
			return words[0], true
		}
		return "(" + strings.Join(words, " AND ") + ")", true
	case query.And:
		var parts []string
		for _, k := range n.Kids {
			if e, ok := ftsFilter(k); ok {
				parts = append(parts, e)
			}
		}
		if len(parts) == 0 {
			return "", false
		}
		return "(" + strings.Join(parts, " AND ") + ")", true
	case query.Or:
		parts := make([]string, len(n.Kids))
		for i, k := range n.Kids {
			e, ok := ftsFilter(k)
			if !ok {
				return "", false
			}
			parts[i] = e
		}
		return "(" + strings.Join(parts, " OR ") + ")", true
	}
	return "", false
}

// indexWord says whether the index can find the blocks holding the query word w (a
// prefix when prefix is set): not a number of filterDigits or more, which blocks keep
// in their filter instead, nor a prefix of digits only, which such numbers may have.
func indexWord(w string, prefix bool) bool {
	_, num := numberBits(w)
	return !num || !prefix && len(w) < filterDigits
}

// numberTerms returns the hashes (8 bytes each) of the numbers and digit prefixes that
// every line matching q holds (joined to the root by AND only) and that a block's
// filter holds instead of the index: a word of filterDigits or more ASCII digits
// (numberHash), and the first prefixDigits digits of a digit prefix at least that long
// (prefixHash); and those words and prefixes themselves, which a block's body holds.
func numberTerms(q *query.Node) (hashes []byte, words [][]byte) {
	switch q.Kind {
	case query.And:
		for _, k := range q.Kids {
			h, w := numberTerms(k)
			hashes, words = append(hashes, h...), append(words, w...)
		}
	case query.Text:
		toks := query.Tokens(q.Value)
		for i, t := range toks {
			num, ok := numberBits(t.Word)
			switch {
			case !ok:
			case q.Prefix && i == len(toks)-1:
				if len(t.Word) >= prefixDigits {
					p, _ := numberBits(t.Word[:prefixDigits])
					hashes = binary.LittleEndian.AppendUint64(hashes, prefixHash(p))
					words = append(words, []byte(t.Word))
				}
			case len(t.Word) >= filterDigits:
				hashes = binary.LittleEndian.AppendUint64(hashes, numberHash(num))
				words = append(words, []byte(t.Word))
			}
		}
	}
	return hashes, words
}

// maxNumberTerms bounds the numbers of a query whose filters numbersSQL reads: a block
// one of the others rules out is ruled out by its body (scanner.words).
const maxNumberTerms = 8

// numbersSQL is the condition that a block b in [lo, hi) may hold every number of
// hashes (plan.nums): its id is among those whose filter in each number's shard may
// hold it, or whose filters waiting in numbers_pending may, or among the blocks without
// numbers' filters (numbers_any) whose pairs row may (one of layout 11 has its numbers
// there; any other holds any). SQLite reads the ids first, from a sixteenth of the
// filters' bytes (pairs.go), then the blocks of the ids; a block's whole filter, read
// per block of the range, took longer than its lines.
func numbersSQL(hashes []byte, lo, hi int64) (string, []any) {
	var b strings.Builder
	var args []any
	b.WriteString("b.id IN (")
	for i := 0; i+8 <= len(hashes) && i < 8*maxNumberTerms; i += 8 {
		if i > 0 {
			b.WriteString(" INTERSECT ")
		}
		h := binary.LittleEndian.Uint64(hashes[i:])
		b.WriteString("SELECT id FROM " + numbersTable(shardOf(h)) + " WHERE id >= ? AND id < ? AND " + numberMayHoldFunc + "(filter, ?)")
		args = append(args, lo, hi, int64(h))
	}
	// Compound SELECTs group from the left: (… INTERSECT …) UNION ALL the others.
	b.WriteString(" UNION ALL SELECT id FROM numbers_pending WHERE id >= ? AND id < ? AND " + pendingMayHoldFunc + "(filter, ?)")
	b.WriteString(" UNION ALL SELECT a.id FROM numbers_any a LEFT JOIN pairs pf ON pf.id = a.id WHERE a.id >= ? AND a.id < ? AND " +
		mayHoldFunc + "(pf.filter, ?))")
	args = append(args, lo, hi, hashes, lo, hi, hashes)
	return b.String(), args
}

func blockColumn(name string) string {
	switch name {
	case "host", "path", "topic", "file_id":
		return "b." + name
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

// blocksSQL selects cols of the candidate blocks with row ids in [lo, hi) that can hold
// a line of [from, to), newest first (by newest line) when desc. With headCols, the rows
// are what the plan's scanner reads. A block whose filters lack one of the plan's
// numbers (numbersSQL) or pairs (pairsMayHoldFunc) is not selected: SQLite then does not
// read its data. Its pairs were tested in Go once the row was read, data included: at
// 100 million lines an IP address's search read nearly every block's data, 4.3 s.
func (p plan) blocksSQL(cols string, lo, hi, from, to int64, desc bool) (string, []any) {
	var b strings.Builder
	var args []any
	join := ""
	if cols == headCols {
		cols, join = p.scanCols(false)
	}
	b.WriteString("SELECT " + cols)
	idCol := "b.id"
	switch {
	case p.ids != nil:
		// The blocks of the list, looked up by id in the order of the list's ids (no
		// sort of their rows, data included). Not the index: asked about one block
		// (fts.rowid = b.id), FTS5 opens each word's postings in every segment, ~4 ms at
		// 100 million lines, where reading the block costs ~0.5.
		list, largs := inList(p.ids)
		b.WriteString(" FROM blocks b" + join + " WHERE b.id IN " + list + " AND b.id >= ? AND b.id < ?")
		args = append(append(args, largs...), lo, hi)
	case p.match != "":
		b.WriteString(" FROM fts JOIN blocks b ON b.id = fts.rowid" + join + " WHERE fts MATCH ? AND fts.rowid >= ? AND fts.rowid < ?")
		args = append(args, p.match, lo, hi)
		idCol = "fts.rowid"
	case cols == "b.id" && len(p.where) == 0 && len(p.nums) == 0 && len(p.pairs) == 0:
		// The ids alone: read from blocks_span (its rows hold ts_max, ts_min and the id;
		// every day has it, createSchema), not the table, whose rows hold the blocks'
		// data (~24 bytes per line of an access log against 0.1), then sorted.
		b.WriteString(" FROM blocks b INDEXED BY blocks_span WHERE b.id >= ? AND b.id < ?")
		args = append(args, lo, hi)
	default:
		b.WriteString(" FROM blocks b" + join + " WHERE b.id >= ? AND b.id < ?")
		args = append(args, lo, hi)
	}
	b.WriteString(" AND b.ts_max >= ? AND b.ts_min < ?")
	args = append(args, from, to)
	if p.listed != nil {
		p.where, p.args, p.nums, p.pairs = nil, nil, nil, nil // each held when it was listed
	}
	for _, w := range p.where {
		b.WriteString(" AND " + w)
	}
	args = append(args, p.args...)
	if len(p.nums) > 0 {
		cond, cargs := numbersSQL(p.nums, lo, hi)
		b.WriteString(" AND " + cond)
		args = append(args, cargs...)
	}
	if p.ids == nil && len(p.pairs) > 0 {
		b.WriteString(" AND " + pairsMayHoldFunc + "((SELECT filter FROM pairs WHERE id = " + idCol + "), ?)")
		args = append(args, p.pairs)
	}
	if desc {
		b.WriteString(" ORDER BY " + idCol + " DESC")
	} else {
		b.WriteString(" ORDER BY " + idCol)
	}
	return b.String(), args
}

// scanCols are the columns of a query of blocks b that the plan's scanner reads, and the
// joins they need: headCols, then the block's field columns (NULL when it has none)
// when the plan names any. With timesOnly (scanner.timesOnly), a block whose columns
// (of the version this build reads) hold the plan's has its times there, and its data
// (its messages, most of the row) is not read: an empty blob instead.
func (p plan) scanCols(timesOnly bool) (cols, join string) {
	data := "b.data"
	if timesOnly {
		m := colsMask(p.cols)
		data = fmt.Sprintf("CASE WHEN fc.mask & %d = %d AND fc.data >= x'%02x' AND fc.data < x'%02x' THEN x'' ELSE b.data END",
			m, m, colsV1, colsV1+1)
	}
	cols = headColsBeforeData + ", " + data
	if len(p.cols) > 0 {
		cols, join = cols+", fc.data", join+colsJoin
	}
	return cols, join
}

// scanner is a scanner of the plan's candidate blocks (blocksSQL and candidates have
// ruled out those whose filters lack its numbers or pairs): it rules out a block by its
// phrases of numbers from its body (skip).
func (pl plan) scanner(c *codec) scanner {
	return scanner{codec: c, words: pl.numWords, skip: pl.skip(), cols: len(pl.cols) > 0, need: pl.cols}
}

// skip says whether a candidate block's body (decompressed) holds no line of the plan, by
// its phrases of numbers (query.MayHoldDigitPhrase), before its lines are decoded and
// checked one by one: an IP address's four numbers are words of nearly every block of
// an access log. nil when the query has no such phrase.
func (pl plan) skip() func(body []byte) bool {
	if len(pl.phrases) == 0 {
		return nil
	}
	return func(body []byte) bool {
		for _, p := range pl.phrases {
			if !query.MayHoldDigitPhrase(body, p.Words) {
				return true
			}
		}
		return false
	}
}
