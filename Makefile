.PHONY: run test fmt vet bench load
run:
	go run ./cmd/scimd
test:
	go test -race -count=1 ./...
fmt:
	gofmt -l -w .
vet:
	go vet ./...
bench:
	go test -run='^$$' -bench=. -benchmem ./...
load:
	go run ./cmd/scimload
