module github.com/wapt-go/wapt

go 1.26.0

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/spf13/cobra v1.10.2
	github.com/youmark/pkcs8 v0.0.0-20240726163527-a2c0da244d78
	golang.org/x/term v0.48.0
)

require (
	github.com/inconshreveable/mousetrap v1.1.0 // indirect
	github.com/spf13/pflag v1.0.9 // indirect
	golang.org/x/crypto v0.22.0 // indirect
	golang.org/x/sys v0.50.0 // indirect
)
