package api

import (
	"testing"
	"time"
)

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
