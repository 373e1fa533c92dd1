// The UI's entry: one app, three faces chosen by the route (control room, phone, installer).
import { createApp } from "vue";
import App from "./App.vue";
import { router } from "./router.js";
import "./base.css";

createApp(App).use(router).mount("#app");
