// Package chat holds the pure pieces of acting from Telegram: the
// callback_data of inline buttons, the keyboards of firing messages and
// reminders, the command parser, the setMyCommands list and the "who may
// act" check. It does no I/O; the receiver wires it to the store, the
// Alertmanager client and the Bot API.
package chat
