package server

import (
	"net"

	"github.com/gofiber/fiber/v2"
)

// Baseline is a server on the same Fiber stack and configuration as the real
// one whose consent and proof routes do no work at all: load tools measure it
// in the same run as the real server, so that the ratio between the two shows
// what storage, validation and signing cost on this machine.
type Baseline struct{ app *fiber.App }

// NewBaseline builds the baseline server.
func NewBaseline() *Baseline {
	app := fiber.New(fiberConfig())
	resp := consentResponse{ID: "AAAAAAAAAAAAAAAAAAAAAA", Index: 0, Receipt: "baseline"}
	app.Post("/v1/consent", func(c *fiber.Ctx) error { return c.Status(fiber.StatusCreated).JSON(resp) })
	app.Get("/v1/proof/:id", func(c *fiber.Ctx) error { return c.JSON(resp) })
	return &Baseline{app: app}
}

// Serve answers on ln until Shutdown.
func (b *Baseline) Serve(ln net.Listener) error { return b.app.Listener(ln) }

// Shutdown stops the baseline server.
func (b *Baseline) Shutdown() error { return b.app.Shutdown() }
