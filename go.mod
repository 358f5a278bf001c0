module github.com/corebench/corebench

go 1.24.0

require (
	github.com/spf13/pflag v1.0.10 // indirect
	golang.org/x/sys v0.38.0 // indirect
)
