module github.com/snapns/snapns

go 1.26.8

require (
	github.com/seccomp/libseccomp-golang v0.11.1
	github.com/syndtr/gocapability v0.0.0-20200815063812-42c35b437635
	golang.org/x/sys v0.50.0
)
