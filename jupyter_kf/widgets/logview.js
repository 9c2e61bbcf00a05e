// The log tail of a JobMonitor. Python sends deltas as custom messages:
//   {type: "reset", lines: [...]}   replace everything (first render, replica switch)
//   {type: "append", lines: [...]}  new lines at the end
// A new view asks for a snapshot, so a re-rendered or second view starts complete.
function render({ model, el }) {
  const box = document.createElement("div");
  box.className = "jkf-log";
  el.appendChild(box);

  const atBottom = () => box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
  const add = (lines) => {
    const frag = document.createDocumentFragment();
    for (const line of lines) {
      const row = document.createElement("div");
      row.textContent = line;
      frag.appendChild(row);
    }
    box.appendChild(frag);
    const max = model.get("max_lines") || 500;
    while (box.childElementCount > max) box.removeChild(box.firstElementChild);
  };
  const onMessage = (msg) => {
    if (!msg || typeof msg !== "object" || !Array.isArray(msg.lines)) return;
    const stick = atBottom();
    if (msg.type === "reset") box.replaceChildren();
    else if (msg.type !== "append") return;
    add(msg.lines);
    if (stick || msg.type === "reset") box.scrollTop = box.scrollHeight;
  };
  model.on("msg:custom", onMessage);
  model.send({ type: "snapshot" });
  return () => model.off("msg:custom", onMessage);
}

export default { render };
