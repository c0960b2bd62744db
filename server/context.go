package server

import (
	"context"
	"time"

	"github.com/gofiber/fiber/v2"
)

func contextWithTimeout(c *fiber.Ctx, d time.Duration) (context.Context, context.CancelFunc) {
	return context.WithTimeout(c.UserContext(), d)
}
