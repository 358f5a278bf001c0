// Package numfmt writes numbers as the report's tables, texts and chart
// axes show them: three significant digits (Sig), a k or M suffix (SI),
// thousands separators (Count, Whole), signed percentages (Percent),
// latencies (Millis) and byte counts (Bytes).
package numfmt

import (
	"math"
	"strconv"
	"strings"
)

// Sig formats x with three significant digits and no exponent:
// 0.0123, 1.23, 12.3, 123, 1234.
func Sig(x float64) string {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return "–"
	}
	if x == 0 {
		return "0"
	}
	d := 2 - int(math.Floor(math.Log10(math.Abs(x))))
	d = max(d, 0)
	s := strconv.FormatFloat(x, 'f', d, 64)
	if d > 0 && strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// SI formats a rate or count with a k or M suffix and three significant
// digits: 850, 12.3k, 1.25M.
func SI(x float64) string {
	a := math.Abs(x)
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "–"
	case a >= 999.5e3:
		return Sig(x/1e6) + "M"
	case a >= 999.5:
		return Sig(x/1e3) + "k"
	default:
		return Sig(x)
	}
}

// Count formats an integer with thousands separators: 1,234,567.
func Count(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// Percent formats a fraction as a signed percentage: +12.3%, -4.5%.
func Percent(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "–"
	}
	s := Sig(100*f) + "%"
	if f >= 0 {
		s = "+" + s
	}
	return s
}

// Millis formats a latency in milliseconds for text tables, with three
// significant digits or so and the unit: 0.250 ms, 2.50 ms, 25.0 ms, 250 ms.
// Unlike Sig it keeps trailing zeros, so a column's figures line up.
func Millis(v float64) string {
	switch {
	case v == 0:
		return "0"
	case v < 1:
		return strconv.FormatFloat(v, 'f', 3, 64) + " ms"
	case v < 10:
		return strconv.FormatFloat(v, 'f', 2, 64) + " ms"
	case v < 100:
		return strconv.FormatFloat(v, 'f', 1, 64) + " ms"
	}
	return strconv.FormatFloat(v, 'f', 0, 64) + " ms"
}

// Whole formats a rate or count rounded to a whole number with
// thousands separators, "-" when it is not finite.
func Whole(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "-"
	}
	return Count(int64(math.Round(v)))
}

// Bytes formats a byte count in decimal units, as autocannon does:
// 512 B, 14.8 MB.
func Bytes(v float64) string {
	units := []string{"B", "kB", "MB", "GB", "TB"}
	i := 0
	for v >= 1000 && i < len(units)-1 {
		v /= 1000
		i++
	}
	if i == 0 {
		return strconv.FormatFloat(v, 'f', 0, 64) + " B"
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}
