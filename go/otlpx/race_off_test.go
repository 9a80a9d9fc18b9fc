//go:build !race

package otlpx_test

const raceEnabled = false
