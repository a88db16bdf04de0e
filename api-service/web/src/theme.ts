import { createTheme, Drawer, Modal } from "@mantine/core";

// Mantine's defaults, but for what the Content-Security-Policy needs. The
// policy refuses <style> elements, so:
//  - MantineProvider runs with withCssVariables={false}: the theme's CSS
//    variables are the defaults in Mantine's styles.css, and a colour or
//    size changed here would not reach them. Change the look in app.css
//    (CSS variables) instead.
//  - Modals and drawers do not lock the page's scrolling: the library
//    they use for it (react-remove-scroll) writes a <style> element.
// theme.test.tsx checks that no <style> element is rendered.
export const theme = createTheme({
  components: {
    Modal: Modal.extend({ defaultProps: { lockScroll: false } }),
    Drawer: Drawer.extend({ defaultProps: { lockScroll: false } }),
  },
});
