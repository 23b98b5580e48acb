// Package querycases is the known data set and the query forms of docs/search.md with
// their expected hits: one table that every log store's tests run (the standalone's
// embedded store in test/standalone, OpenSearch in internal/search/opensearchstore).
package querycases

// AppLines are the lines of app.log (topic app), oldest first.
var AppLines = []string{
	"GET /index.html 200 client 10.0.0.1",
	`level=error service=db msg="database timeout"`,
	"POST /api/orders 201 checkout ok",
	"warning: disk almost full on /dev/sda1",
	"error: connection refused by 10.0.0.2",
	`{"level":"info","service":"web","msg":"user login"}`,
}

// OtherLine is the one line of other.log (topic other, entry field team=core), written
// after the app lines.
const OtherLine = "error in the other file"

// Case is a query and the messages it finds, in any order.
type Case struct {
	Q    string
	Want []string
}

// Cases are the forms of docs/search.md on the data set. A test may have added lines
// with the word marker4711 (NOT marker4711 leaves them out).
var Cases = []Case{
	{"error", []string{AppLines[1], AppLines[4], OtherLine}},
	{"error database", []string{AppLines[1]}},
	{"error AND database", []string{AppLines[1]}},
	{`"connection refused"`, []string{AppLines[4]}},
	{`"refused connection"`, nil},
	{"10.0.0.1", []string{AppLines[0]}},
	{"error OR warning", []string{AppLines[1], AppLines[4], OtherLine, AppLines[3]}},
	{"error NOT database", []string{AppLines[4], OtherLine}},
	{"topic:app -error -marker4711", []string{AppLines[0], AppLines[2], AppLines[3], AppLines[5]}},
	{"data*", []string{AppLines[1]}},
	{"level:error", []string{AppLines[1]}},
	{"service:web", []string{AppLines[5]}},
	{"team:core", []string{OtherLine}},
	{"topic:other", []string{OtherLine}},
	{"path:*/other.log", []string{OtherLine}},
	{"host:h1 warning", []string{AppLines[3]}},
	{"host:nobody", nil},
	{"(error OR warning) topic:app", []string{AppLines[1], AppLines[3], AppLines[4]}},
	{"NOT level:error -marker4711", []string{AppLines[0], AppLines[2], AppLines[3], AppLines[4], AppLines[5], OtherLine}},
	{"path:*/app.lo? -marker4711", AppLines},
	{"path:*/[ao]ther.log", []string{OtherLine}},
	{"topic:ap* -marker4711", AppLines},
	{"ERROR Database", []string{AppLines[1]}},
	{"user_login", []string{AppLines[5]}},
	{"disk*", []string{AppLines[3]}},
}

// OpenSearchDifferences are the forms whose hits on OpenSearch (through the transfer, with
// the parse rule {topic: app, format: logfmt}) differ from the embedded store's on
// purpose, with the reason. Every test of the OpenSearch side skips their comparison and
// requires that they do differ, so that a fixed difference is taken off the list.
var OpenSearchDifferences = map[string]string{
	// The transfer parses a topic's lines with its transfer.parse rule only (here app:
	// logfmt); the embedded store parses every JSON and logfmt line.
	"service:web": "the JSON line of topic app is not parsed by the app topic's logfmt rule",
}
