// A small live line chart on a canvas: the last POINTS values, scaled to their own maximum.

const POINTS = 60;

export class Sparkline {
  readonly element: HTMLElement;
  private readonly canvas: HTMLCanvasElement;
  private readonly value: HTMLElement;
  private readonly points: number[] = [];

  constructor(
    label: string,
    testid: string,
    private readonly format: (n: number) => string = (n) => String(n),
  ) {
    this.canvas = document.createElement('canvas');
    this.value = document.createElement('span');
    this.value.className = 'chart-value';
    this.value.dataset.testid = `${testid}-value`;
    const title = document.createElement('div');
    title.className = 'chart-title';
    title.append(label, this.value);
    this.element = document.createElement('figure');
    this.element.className = 'chart';
    this.element.dataset.testid = testid;
    this.element.append(title, this.canvas);
  }

  add(value: number): void {
    this.points.push(value);
    if (this.points.length > POINTS) this.points.shift();
    this.value.textContent = this.format(value);
    this.draw();
  }

  private draw(): void {
    const context = this.canvas.getContext('2d');
    if (context === null) return;
    // The drawing buffer follows the laid-out size, sharp on high-density screens.
    const ratio = window.devicePixelRatio || 1;
    const width = Math.max(1, Math.round(this.canvas.clientWidth * ratio));
    const height = Math.max(1, Math.round(this.canvas.clientHeight * ratio));
    if (this.canvas.width !== width || this.canvas.height !== height) [this.canvas.width, this.canvas.height] = [width, height];
    const style = getComputedStyle(this.element);
    context.clearRect(0, 0, width, height);
    const max = Math.max(1, ...this.points);
    const step = width / (POINTS - 1);
    const y = (v: number) => height - 3 - (v / max) * (height - 6);
    const x0 = width - (this.points.length - 1) * step;
    context.beginPath();
    this.points.forEach((v, i) => (i === 0 ? context.moveTo(x0, y(v)) : context.lineTo(x0 + i * step, y(v))));
    context.strokeStyle = style.getPropertyValue('--chart-line').trim() || '#4fc3f7';
    context.lineWidth = 1.5 * ratio;
    context.stroke();
    context.lineTo(x0 + (this.points.length - 1) * step, height);
    context.lineTo(x0, height);
    context.closePath();
    context.fillStyle = style.getPropertyValue('--chart-fill').trim() || 'rgba(79,195,247,0.15)';
    context.fill();
  }
}
