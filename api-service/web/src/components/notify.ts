// Toasts: how the UI says that something failed or worked, away from any
// one field.

import { notifications } from "@mantine/notifications";

import { describeError } from "../api/errors";

export function notifyError(err: unknown, context?: string): void {
  const { title, message } = describeError(err);
  notifications.show({
    color: "red",
    title: context ? `${context}: ${title}` : title,
    message,
    autoClose: 8000,
    withBorder: true,
  });
}

export function notifySuccess(message: string): void {
  notifications.show({ color: "teal", message, autoClose: 4000, withBorder: true });
}
