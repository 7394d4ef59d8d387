h=w.hearth||(()=>0);r=h.p||h;
w.plausible=h;
w.umami={track:(m,o)=>typeof m=="string"?h(m,{props:o}):r(),identify:()=>0};
w.goatcounter={count:o=>o?.event?h(o.path):r()};
for(c of q)h(...c);
G&&!N&&r()
}(window,document,document.currentScript,location);
