# make fmt vet lint test bench: formatting, vet, linters, tests, benchmarks. The linters run from the Go module
# proxy at pinned versions: nothing to install. lint is not in .ci/run: with a
# cold module cache it took over two minutes on a 2-core machine (see the
# commit that added it).
STATICCHECK = honnef.co/go/tools/cmd/staticcheck@v0.8.2
ERRORLINT = codeberg.org/polyfloyd/go-errorlint@v1.9.1

.PHONY: run test fmt vet lint bench load
run:
	go run ./cmd/scimd
test:
	go test -race -count=1 -timeout 30m ./...
fmt:
	gofmt -l -w .
vet:
	go vet ./...
lint: vet
	go run $(STATICCHECK) ./...
	go run $(ERRORLINT) ./...
bench:
	go test -run='^$$' -bench=. -benchmem ./...
load:
	go run ./cmd/scimload
