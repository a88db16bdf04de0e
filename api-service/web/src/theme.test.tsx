// @vitest-environment jsdom
import { Drawer, MantineProvider, Modal } from "@mantine/core";
import { Notifications, notifications } from "@mantine/notifications";
import { act, render } from "@testing-library/react";
import { describe, expect, it } from "vitest";

import { theme } from "./theme";

function styleElements(): string[] {
  return [...document.querySelectorAll("style")].map((s) => s.outerHTML.slice(0, 300));
}

// The Content-Security-Policy refuses inline <style> elements: the
// provider, as main.tsx sets it up, and the components that open over the
// page must render none.
describe("the theme", () => {
  it("makes Mantine render no <style> element", () => {
    render(
      <MantineProvider theme={theme} withCssVariables={false} withGlobalClasses={false}>
        <Notifications />
        <p>page</p>
      </MantineProvider>,
    );
    act(() => {
      notifications.show({ message: "a toast" });
    });
    expect(styleElements()).toEqual([]);
  });

  it("opens drawers and modals without a <style> element", () => {
    render(
      <MantineProvider theme={theme} withCssVariables={false} withGlobalClasses={false}>
        <Drawer opened onClose={() => {}} title="Navigation">
          links
        </Drawer>
        <Modal opened onClose={() => {}} title="Confirm">
          sure?
        </Modal>
      </MantineProvider>,
    );
    expect(document.body.textContent).toContain("links");
    expect(styleElements()).toEqual([]);
  });
});
