// Aperture shape: circle or N-blade polygon with rotation, anamorphic vertical stretch.
uniform int u_blades;            // 0 = circular, else 3..16
uniform float u_blade_rotation;  // radians
uniform float u_squeeze;         // vertical stretch of the bokeh (anamorphic squeeze)

// The aperture "radius" at which offset v lies on the rim: v is inside an aperture of
// circumradius r exactly when aperture_norm(v) <= r.
float aperture_norm(vec2 v) {
    v.y /= u_squeeze;
    float r = length(v);
    if (u_blades < 3) {
        return r;
    }
    float seg = 2.0 * PI / float(u_blades);
    float a = atan(v.y, v.x) - u_blade_rotation;
    // Angle from the nearest edge midpoint (apothem direction); vertices sit at multiples of seg.
    float local = mod(a, seg) - 0.5 * seg;
    return r * cos(local) / cos(0.5 * seg);
}

// Area of an aperture of circumradius 1 (px^2 per px^2 of radius squared).
float aperture_area_factor() {
    float base = u_blades < 3
        ? PI
        : 0.5 * float(u_blades) * sin(2.0 * PI / float(u_blades));
    return base * u_squeeze;
}
