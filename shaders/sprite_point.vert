#version 330 core
// One point per 2x2 block of half-res texels; sprite.geom makes its quad (or none).
void main() {
    gl_Position = vec4(0.0, 0.0, 0.0, 1.0);
}
