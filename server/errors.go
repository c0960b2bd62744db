package server

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/gofiber/fiber/v2"

	"github.com/crumb-consent/crumb/account"
	"github.com/crumb-consent/crumb/consent"
	"github.com/crumb-consent/crumb/ledger"
	"github.com/crumb-consent/crumb/widget"
)

// apiError is an error with the status and message the client sees.
type apiError struct {
	status     int
	msg        string
	retryAfter int // seconds; set for 429 and 503
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) error {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

// statusOf maps the domain packages' error vocabulary to HTTP.
func statusOf(err error) (int, string, int) {
	var ae *apiError
	var fe *fiber.Error
	switch {
	case errors.As(err, &ae):
		return ae.status, ae.msg, ae.retryAfter
	case errors.As(err, &fe):
		switch fe.Code {
		case fiber.StatusNotFound: // Fiber's message echoes the path
			return fe.Code, "no such route", 0
		case fiber.StatusMethodNotAllowed:
			return fe.Code, "method not allowed (see the Allow header)", 0
		}
		return fe.Code, fe.Message, 0
	case errors.Is(err, consent.ErrInvalid), errors.Is(err, widget.ErrInvalidConfig),
		errors.Is(err, account.ErrInvalid), errors.Is(err, ledger.ErrRange), errors.Is(err, ledger.ErrInvalid),
		errors.Is(err, consent.ErrBadReceipt):
		return fiber.StatusBadRequest, err.Error(), 0
	case errors.Is(err, ledger.ErrNotFound), errors.Is(err, account.ErrNotFound):
		return fiber.StatusNotFound, "not found", 0
	case errors.Is(err, account.ErrConflict):
		return fiber.StatusConflict, err.Error(), 0
	case errors.Is(err, ledger.ErrPushback), errors.Is(err, ledger.ErrClosed):
		return fiber.StatusServiceUnavailable, "busy, retry shortly", 1
	case errors.Is(err, ledger.ErrPending):
		return fiber.StatusServiceUnavailable, "no signed checkpoint covers this consent yet, retry shortly", 1
	}
	return fiber.StatusInternalServerError, "internal error", 0
}

// handleError is Fiber's ErrorHandler: every failure leaves as JSON
// {"error": "..."}; only unexpected ones are logged.
func (s *Server) handleError(c *fiber.Ctx, err error) error {
	status, msg, retry := statusOf(err)
	if status >= 500 && status != fiber.StatusServiceUnavailable {
		s.log.Error("request failed", "method", c.Method(), "route", c.Route().Path, "err", err)
	}
	if retry > 0 {
		c.Set(fiber.HeaderRetryAfter, strconv.Itoa(retry))
	}
	return c.Status(status).JSON(fiber.Map{"error": msg})
}
