package api

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestGuard(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) })
	for _, tc := range []struct {
		name    string
		auth    Auth
		method  string
		headers map[string]string
		want    int
	}{
		{"read, no auth configured", Auth{}, "GET", nil, 204},
		{"write without origin", Auth{}, "PUT", nil, 403},
		{"write same-origin", Auth{}, "PUT", map[string]string{"Sec-Fetch-Site": "same-origin"}, 204},
		{"write with own Origin", Auth{}, "PUT", map[string]string{"Origin": "http://example.test:8080"}, 204},
		{"write cross-site", Auth{}, "PUT", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://example.test:8080"}, 403},
		{"write other Origin", Auth{}, "PUT", map[string]string{"Origin": "http://evil.test"}, 403},
		{"token missing", Auth{Token: "s3"}, "GET", nil, 401},
		{"token wrong", Auth{Token: "s3"}, "GET", map[string]string{"Authorization": "Bearer nope"}, 401},
		{"token right", Auth{Token: "s3"}, "GET", map[string]string{"Authorization": "Bearer s3"}, 204},
		{"token write, no origin", Auth{Token: "s3"}, "PUT", map[string]string{"Authorization": "Bearer s3"}, 204},
		{"basic right", Auth{Username: "u", Password: "p"}, "GET", map[string]string{"Authorization": "Basic dTpw"}, 204},
		{"basic wrong", Auth{Username: "u", Password: "p"}, "GET", map[string]string{"Authorization": "Basic dTp4"}, 401},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := &API{d: Deps{Auth: tc.auth}}
			req := httptest.NewRequest(tc.method, "http://example.test:8080/api/entries/k", nil)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			rec := httptest.NewRecorder()
			a.guard(ok).ServeHTTP(rec, req)
			if rec.Code != tc.want {
				t.Errorf("status %d, want %d (%s)", rec.Code, tc.want, rec.Body.String())
			}
		})
	}
}

func TestParseTimeAndSteps(t *testing.T) {
	now := time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC)
	for in, want := range map[string]time.Time{
		"now":                  now,
		"now-15m":              now.Add(-15 * time.Minute),
		"now-7d":               now.Add(-7 * 24 * time.Hour),
		"1764576000000":        time.UnixMilli(1764576000000).UTC(),
		"2026-12-01T07:00:00Z": now.Add(-time.Hour),
	} {
		got, err := parseTime(in, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if _, err := parseTime("yesterday", now); err == nil {
		t.Error("yesterday parsed")
	}
	for d, want := range map[time.Duration]time.Duration{
		time.Minute: time.Second, 15 * time.Minute: 30 * time.Second, time.Hour: time.Minute,
		24 * time.Hour: 30 * time.Minute, 7 * 24 * time.Hour: 3 * time.Hour,
	} {
		if got := roundStep(d, 60); got != want {
			t.Errorf("roundStep(%s) = %s, want %s", d, got, want)
		}
	}
}
